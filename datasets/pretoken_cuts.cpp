// Safe cuts for the pre-tokenizers (the argument is in the header): a backward scan for the last
// non-space character followed by a space character.
#include "datasets/pretoken_cuts.h"

#include <algorithm>
#include <cstdint>

#include "datasets/gpt2_pretokenizer.h"

namespace me {
namespace {

bool is_continuation_byte(char c) { return (uint8_t(c) & 0xC0) == 0x80; }

// The character ending at p as the forward decoder reads it: a lead byte q whose sequence is
// well-formed and ends exactly at p is a character boundary (no well-formed sequence starting
// before q can take a lead byte); anything else leaves byte p - 1 an ill-formed single byte.
uint32_t code_point_before(std::string_view text, size_t p) {
  for (size_t q = p; q-- > 0 && p - q <= 4;) {
    if (is_continuation_byte(text[q])) continue;
    uint32_t cp;
    const size_t len = decode_utf8(text, q, cp);
    return len == p - q ? cp : kInvalidCodePoint;
  }
  return kInvalidCodePoint;
}

bool is_cr_lf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

bool safe_at(std::string_view text, size_t p, PretokenRule rule) {
  if (is_continuation_byte(text[p])) return false;
  uint32_t b;
  decode_utf8(text, p, b);
  if (classify_code_point(b) != CharClass::kSpace) return false;
  const CharClass a = classify_code_point(code_point_before(text, p));
  if (a == CharClass::kSpace) return false;
  if (rule == PretokenRule::kLlama3 && is_cr_lf(b)) {
    return a == CharClass::kLetter || a == CharClass::kNumber;
  }
  return true;
}

}  // namespace

size_t last_pretoken_cut(std::string_view text, size_t from, size_t to, PretokenRule rule) {
  to = std::min(to, text.size());
  for (size_t p = to; p-- > std::max<size_t>(from, 1);) {
    if (safe_at(text, p, rule)) return p;
  }
  return 0;
}

}  // namespace me
