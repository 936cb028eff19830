// GPT-2's pre-tokenization, the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// matched by hand over UTF-8 code points (leftmost alternative wins, each quantifier greedy).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace me {

enum class CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };

// \p{L} (general category L*), \p{N} (N*), \s (the Unicode White_Space property), else other.
CharClass classify_code_point(uint32_t cp);

// Decodes one UTF-8 code point at text[pos]. Returns its length in bytes (1-4) and sets cp; an
// ill-formed sequence (bad lead or continuation byte, overlong, surrogate, > U+10FFFF, truncated)
// yields length 1 and cp = kInvalidCodePoint, so each such byte stands alone.
inline constexpr uint32_t kInvalidCodePoint = 0xFFFFFFFF;
size_t decode_utf8(std::string_view text, size_t pos, uint32_t& cp);

// Appends the pre-tokens of text to out, as views into text; their concatenation is text.
// Bytes of ill-formed UTF-8 are single "other" characters, so any byte string is split.
void gpt2_pretokenize(std::string_view text, std::vector<std::string_view>& out);

}  // namespace me
