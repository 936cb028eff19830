// The hand-written GPT-2 pre-tokenizer on cases worked out by hand from the regex
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "datasets/gpt2_pretokenizer.h"

namespace {

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string_view> views;
  me::gpt2_pretokenize(text, views);
  return {views.begin(), views.end()};
}

using Pieces = std::vector<std::string>;

}  // namespace

TEST_CASE("pre-tokenizer: words, numbers, punctuation and contractions") {
  CHECK(split("Hello world!") == Pieces{"Hello", " world", "!"});
  CHECK(split("don't we'll I'm") == Pieces{"don", "'t", " we", "'ll", " I", "'m"});
  CHECK(split("DON'T") == Pieces{"DON", "'", "T"});
  CHECK(split("12345 3.14") == Pieces{"12345", " 3", ".", "14"});
  CHECK(split("x**2") == Pieces{"x", "**", "2"});
  CHECK(split("3rd") == Pieces{"3", "rd"});
  CHECK(split("") == Pieces{});
}

TEST_CASE("pre-tokenizer: whitespace runs leave their last space to the next word") {
  CHECK(split("a   b\t\t\nc") == Pieces{"a", "  ", " b", "\t\t", "\n", "c"});
  CHECK(split("end   ") == Pieces{"end", "   "});
  CHECK(split(" ") == Pieces{" "});
  CHECK(split("  x") == Pieces{" ", " x"});
  CHECK(split("\n x") == Pieces{"\n", " x"});
}

TEST_CASE("pre-tokenizer: Unicode letters, numbers, marks and spaces") {
  CHECK(split("café naïve") == Pieces{"café", " naïve"});
  CHECK(split("日本語のテキスト") == Pieces{"日本語のテキスト"});
  // U+0301 (combining acute) is a mark, not a letter: it splits "e" from the rest.
  CHECK(split("e\u0301t") == Pieces{"e", "\u0301", "t"});
  // U+00BD (vulgar fraction one half, No) and U+0663 (Arabic-Indic three, Nd) are numbers.
  CHECK(split("x½٣") == Pieces{"x", "½٣"});
  // U+00A0 is White_Space but not the ASCII space the ` ?` alternatives allow.
  CHECK(split("a\u00a0b") == Pieces{"a", "\u00a0", "b"});
  CHECK(split("👍🏽 ok") == Pieces{"👍🏽", " ok"});
}

TEST_CASE("pre-tokenizer: ill-formed UTF-8 bytes are single other characters") {
  CHECK(split("ab\xFF\xFE"
              "cd") == Pieces{"ab", "\xFF\xFE", "cd"});
  CHECK(split("\xE6\x97") == Pieces{"\xE6\x97"});
  uint32_t cp = 0;
  CHECK(me::decode_utf8("\xED\xA0\x80", 0, cp) == 1);
  CHECK(cp == me::kInvalidCodePoint);
  CHECK(me::decode_utf8("\xF0\x9F\x91\x8D", 0, cp) == 4);
  CHECK(cp == 0x1F44D);
  CHECK(me::classify_code_point(0x65E5) == me::CharClass::kLetter);
  CHECK(me::classify_code_point(0x3000) == me::CharClass::kSpace);
  CHECK(me::classify_code_point(0x2167) == me::CharClass::kNumber);  // Roman numeral eight, Nl
}
