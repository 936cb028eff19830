// Where a long text may be cut so that pre-tokenizing the two parts apart gives exactly the
// pre-tokens of the whole: the rule for GPT-2's regex and for the Llama-3 / cl100k split pattern.
//
// A cut at byte p (0 < p < n) is safe when (1) a pre-token of the whole text starts at p and
// (2) every pre-token of the whole that ends at or before p is also found in text[0, p) alone.
// (2) holds when no match before p looks at p or beyond, nor at the end of the text. Both regexes
// have no look-behind, so the pre-tokens from p on depend on text[p, n) only.
//
// Let a be the character ending at p and b the one starting at p (UTF-8 as decode_utf8 reads it;
// an ill-formed byte is a one-byte "other" character).
//
// GPT-2  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Cut where a is not \s and b is \s. No alternative matches a non-space followed by a space
//   (contractions hold none, ` ?X+` takes a space only as its first character, `\s+` only spaces),
//   so the pre-token holding a ends at p: (1). Before p, a run of one class stops at a class change
//   inside text[0, p); the whitespace rules read to the first non-space after the run, which is
//   at or before a; a contraction that reads past p reads b in the whole text and the end of the
//   text in the part, and neither is a letter: (2).
// Llama-3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Cut where a is not \s and b is \s, and b is not CR or LF unless a is a letter or a number.
//   The one alternative that takes a non-space then a space is ` ?[^\s\p{L}\p{N}]+[\r\n]*` (an
//   "other" run followed by CR/LF), which the exception excludes; a prefix character
//   [^\r\n\p{L}\p{N}] before letters is never a, as b is not a letter; digit groups of 1-3 count
//   from the start of their run, which lies before p. (2) as for GPT-2: `\s*[\r\n]+` and
//   `\s+(?!\S)` scan a whitespace run that ends before a.
//
// Decoding agrees too: b's first byte is not a continuation byte, so no UTF-8 sequence starting
// before p can use it, and a sequence cut short by p is ill-formed in both texts.
#pragma once

#include <cstddef>
#include <string_view>

namespace me {

enum class PretokenRule { kGpt2, kLlama3 };

// The largest safe cut p with from <= p < to (to is clamped to text.size()), or 0 if none. The
// character b at p is decoded from text, so bytes after `to` may be read.
size_t last_pretoken_cut(std::string_view text, size_t from, size_t to, PretokenRule rule);

}  // namespace me
