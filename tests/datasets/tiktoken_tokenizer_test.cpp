// TikTokenizer against PyPI tiktoken (tests/data/tiktoken/expected_ids.json, written by
// scripts/fixtures/make_tiktoken_fixture.py with the Llama-3 / cl100k pattern), the split pattern
// by hand, round trips, and rank-file errors.
#include "datasets/tiktoken_tokenizer.h"

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets/tiktoken_pretokenizer.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

namespace me {
namespace {

const std::string kDir = std::string(ME_TEST_DATA_DIR) + "/tiktoken/";

std::unique_ptr<Tokenizer> tiny() {
  TokenizerFiles files;
  files.tokenizer_model = kDir + "tiny.tiktoken";
  return TokenizerRegistry::instance().create("TikTokenizer", files);
}

std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string_view> out;
  tiktoken_pretokenize(text, out);
  return {out.begin(), out.end()};
}

std::string error_of(const std::string& rank_file_text) {
  testing::TempDir dir;
  testing::write_text(dir / "bad.tiktoken", rank_file_text);
  TokenizerFiles files;
  files.tokenizer_model = dir / "bad.tiktoken";
  try {
    TikTokenizer tokenizer(files);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("cl100k split pattern by hand") {
  // Contractions case-insensitively; an optional non-letter prefix before letters; digits in 3s.
  CHECK(pieces("don'T it's") == std::vector<std::string>{"don", "'T", " it", "'s"});
  CHECK(pieces("1234567") == std::vector<std::string>{"123", "456", "7"});
  CHECK(pieces("$hello  world") == std::vector<std::string>{"$hello", " ", " world"});
  // Punctuation takes trailing newlines; whitespace runs end at their last newline.
  CHECK(pieces("x!!\n\ny") == std::vector<std::string>{"x", "!!\n\n", "y"});
  CHECK(pieces("a \n  \n b") == std::vector<std::string>{"a", " \n  \n", " b"});
  CHECK(pieces("a   ") == std::vector<std::string>{"a", "   "});
  CHECK(pieces("\ta") == std::vector<std::string>{"\ta"});
  CHECK(pieces("\na") == std::vector<std::string>{"\n", "a"});
}

TEST_CASE("TikTokenizer ids match tiktoken on the fixture strings") {
  std::ifstream in(kDir + "expected_ids.json");
  const auto expected = nlohmann::json::parse(in);
  const auto tokenizer = tiny();
  CHECK(tokenizer->vocab_size() == 1000 + expected["num_ranks"].get<int64_t>());
  CHECK(tokenizer->eod_id() == 2);
  std::string joined;
  for (const auto& c : expected["cases"]) {
    const std::string text = c["text"];
    CAPTURE(text);
    CHECK(tokenizer->encode(text) == c["ids"].get<std::vector<int32_t>>());
    CHECK(tokenizer->decode(tokenizer->encode(text)) == text);
    joined += text;
  }
  CHECK(tokenizer->encode(joined) == expected["joined"].get<std::vector<int32_t>>());
  CHECK(tokenizer->decode({1, 2}) == "<s></s>");
  CHECK_FALSE(tokenizer->files_sha256().empty());
  // Ill-formed UTF-8 still round-trips, byte by byte.
  const std::string invalid = "ok\xff\xfe\xc3(";
  CHECK(tokenizer->decode(tokenizer->encode(invalid)) == invalid);
}

TEST_CASE("TikTokenizer rank file errors name the line") {
  CHECK(error_of("QQ== 0\nnot-base64! 1\n").find("bad.tiktoken:2") != std::string::npos);
  CHECK(error_of("QQ== x\n").find("rank 'x'") != std::string::npos);
  CHECK(error_of("QQ== 0\nQQ== 1\n").find("duplicate token") != std::string::npos);
  CHECK(error_of("QQ== 0\nQg== 0\n").find("duplicate rank") != std::string::npos);
  CHECK(error_of("QQ== 0\n").find("single byte 0x00") != std::string::npos);
}

}  // namespace
}  // namespace me
