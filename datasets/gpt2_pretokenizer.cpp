// The GPT-2 pre-tokenization regex as a hand-written matcher: each match is found by trying the
// regex's alternatives in order at the cursor, decoding and classifying code points as it goes.
#include "datasets/gpt2_pretokenizer.h"

#include <algorithm>
#include <span>

#include "datasets/unicode_tables.h"

namespace me {
namespace {

bool in_ranges(uint32_t cp, std::span<const unicode::CodePointRange> ranges) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](uint32_t v, const unicode::CodePointRange& r) { return v < r.lo; });
  return it != ranges.begin() && cp <= std::prev(it)->hi;
}

bool is_white_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

struct Char {
  CharClass cls;
  size_t len;  // bytes
};

Char char_at(std::string_view text, size_t pos) {
  uint32_t cp;
  const size_t len = decode_utf8(text, pos, cp);
  return {classify_code_point(cp), len};
}

// Bytes of the contraction at pos ('s 't 're 've 'm 'll 'd), or 0. All ASCII, so bytewise.
size_t contraction_length(std::string_view text, size_t pos) {
  if (text[pos] != '\'' || pos + 1 >= text.size()) return 0;
  const char a = text[pos + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 >= text.size()) return 0;
  const char b = text[pos + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Bytes of the match at pos (< text.size()); characters are decoded on the fly, so a long
// document needs no per-character buffer.
size_t match_length(std::string_view text, size_t pos) {
  const size_t n = text.size();
  if (size_t len = contraction_length(text, pos)) return len;
  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional ASCII space, then a run of one class.
  const size_t start = (text[pos] == ' ' && pos + 1 < n) ? pos + 1 : pos;
  const Char first = char_at(text, start);
  if (first.cls != CharClass::kSpace) {
    size_t end = start + first.len;
    for (Char c; end < n && (c = char_at(text, end)).cls == first.cls;) end += c.len;
    return end - pos;
  }
  // `\s+(?!\S)` backs off one character before a non-space; `\s+` takes a lone space.
  size_t last = pos, end = pos + char_at(text, pos).len;
  for (Char c; end < n && (c = char_at(text, end)).cls == CharClass::kSpace;) {
    last = end;
    end += c.len;
  }
  if (end == n || last == pos) return end - pos;
  return last - pos;
}

}  // namespace

CharClass classify_code_point(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    return is_white_space(cp) ? CharClass::kSpace : CharClass::kOther;
  }
  if (cp == kInvalidCodePoint) return CharClass::kOther;
  if (is_white_space(cp)) return CharClass::kSpace;
  if (in_ranges(cp, unicode::kLetterRanges)) return CharClass::kLetter;
  if (in_ranges(cp, unicode::kNumberRanges)) return CharClass::kNumber;
  return CharClass::kOther;
}

size_t decode_utf8(std::string_view text, size_t pos, uint32_t& cp) {
  const auto byte = [&](size_t i) { return uint8_t(text[i]); };
  const uint8_t lead = byte(pos);
  cp = kInvalidCodePoint;
  if (lead < 0x80) {
    cp = lead;
    return 1;
  }
  size_t len;
  uint32_t value, min_value;
  if ((lead & 0xE0) == 0xC0) {
    len = 2, value = lead & 0x1F, min_value = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3, value = lead & 0x0F, min_value = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4, value = lead & 0x07, min_value = 0x10000;
  } else {
    return 1;
  }
  if (pos + len > text.size()) return 1;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(pos + k) & 0xC0) != 0x80) return 1;
    value = (value << 6) | (byte(pos + k) & 0x3F);
  }
  if (value < min_value || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 1;
  cp = value;
  return len;
}

void gpt2_pretokenize(std::string_view text, std::vector<std::string_view>& out) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = match_length(text, pos);
    out.push_back(text.substr(pos, len));
    pos += len;
  }
}

}  // namespace me
