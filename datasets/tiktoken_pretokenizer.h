// The Llama-3 / cl100k pre-tokenization (Megatron's PATTERN_TIKTOKEN_V2), the regex
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// matched by hand over UTF-8 code points like datasets/gpt2_pretokenizer.h (leftmost alternative
// wins, quantifiers greedy with the backtracking the regex engine would do).
#pragma once

#include <string_view>
#include <vector>

namespace me {

// Appends the pre-tokens of text to out, as views into text; their concatenation is text. Bytes of
// ill-formed UTF-8 are single "other" characters (tiktoken itself only accepts valid UTF-8).
void tiktoken_pretokenize(std::string_view text, std::vector<std::string_view>& out);

}  // namespace me
