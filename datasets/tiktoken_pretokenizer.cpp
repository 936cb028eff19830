// The cl100k / Llama-3 split pattern as a hand-written matcher: at the cursor each alternative is
// tried in order; character classes come from datasets/gpt2_pretokenizer.h.
#include "datasets/tiktoken_pretokenizer.h"

#include "datasets/gpt2_pretokenizer.h"

namespace me {
namespace {

struct Char {
  uint32_t cp;
  CharClass cls;
  size_t len;  // bytes
};

Char char_at(std::string_view text, size_t pos) {
  uint32_t cp;
  const size_t len = decode_utf8(text, pos, cp);
  return {cp, classify_code_point(cp), len};
}

bool is_cr_lf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

// Unicode simple case folding of the contraction letters: 's' also matches 'S' and U+017F (long
// s), which the regex's (?i) folds together.
bool letter_is(std::string_view text, size_t pos, char lower, size_t& len) {
  const Char c = char_at(text, pos);
  len = c.len;
  if (c.cp == static_cast<uint32_t>(lower) || c.cp == static_cast<uint32_t>(lower - 32)) {
    return true;
  }
  return lower == 's' && c.cp == 0x17F;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d): bytes of the contraction at pos, or 0.
size_t contraction_length(std::string_view text, size_t pos) {
  const size_t n = text.size();
  if (text[pos] != '\'' || pos + 1 >= n) return 0;
  size_t a = 0, b = 0;
  for (char single : {'s', 't'}) {
    if (letter_is(text, pos + 1, single, a)) return 1 + a;
  }
  for (const char* pair : {"re", "ve"}) {
    if (letter_is(text, pos + 1, pair[0], a) && pos + 1 + a < n &&
        letter_is(text, pos + 1 + a, pair[1], b)) {
      return 1 + a + b;
    }
  }
  if (letter_is(text, pos + 1, 'm', a)) return 1 + a;
  if (letter_is(text, pos + 1, 'l', a) && pos + 1 + a < n && letter_is(text, pos + 1 + a, 'l', b)) {
    return 1 + a + b;
  }
  if (letter_is(text, pos + 1, 'd', a)) return 1 + a;
  return 0;
}

// End of the run of characters of class `cls` starting at pos (at most `limit` characters).
size_t run_end(std::string_view text, size_t pos, CharClass cls, size_t limit = SIZE_MAX) {
  size_t count = 0;
  for (Char c; pos < text.size() && count < limit && (c = char_at(text, pos)).cls == cls; ++count) {
    pos += c.len;
  }
  return pos;
}

size_t match_length(std::string_view text, size_t pos) {
  const size_t n = text.size();
  if (size_t len = contraction_length(text, pos)) return len;
  const Char first = char_at(text, pos);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (first.cls == CharClass::kLetter) return run_end(text, pos, CharClass::kLetter) - pos;
  if (first.cls != CharClass::kNumber && !is_cr_lf(first.cp) && pos + first.len < n &&
      char_at(text, pos + first.len).cls == CharClass::kLetter) {
    return run_end(text, pos + first.len, CharClass::kLetter) - pos;
  }
  // \p{N}{1,3}
  if (first.cls == CharClass::kNumber) return run_end(text, pos, CharClass::kNumber, 3) - pos;
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  const size_t start = (text[pos] == ' ' && pos + 1 < n) ? pos + 1 : pos;
  if (char_at(text, start).cls == CharClass::kOther) {
    size_t end = run_end(text, start, CharClass::kOther);
    while (end < n && (text[end] == '\r' || text[end] == '\n')) ++end;
    return end - pos;
  }
  // The whitespace run W = [pos, end); first.cls is kSpace here.
  size_t end = pos, last_cr_lf = SIZE_MAX, last_start = pos;
  for (Char c; end < n && (c = char_at(text, end)).cls == CharClass::kSpace; end += c.len) {
    if (is_cr_lf(c.cp)) last_cr_lf = end;
    last_start = end;
  }
  // \s*[\r\n]+: up to and including W's last CR or LF.
  if (last_cr_lf != SIZE_MAX) return last_cr_lf + 1 - pos;
  // \s+(?!\S): all of W at the end of the text, else W less its last character (if any remain).
  if (end == n) return end - pos;
  if (last_start > pos) return last_start - pos;
  // \s+: a lone whitespace character before a non-space.
  return end - pos;
}

}  // namespace

void tiktoken_pretokenize(std::string_view text, std::vector<std::string_view>& out) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = match_length(text, pos);
    out.push_back(text.substr(pos, len));
    pos += len;
  }
}

}  // namespace me
