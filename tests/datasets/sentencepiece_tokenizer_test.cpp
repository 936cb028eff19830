// SentencePiece tokenizers against PyPI sentencepiece (tests/data/sentencepiece/expected_ids.json,
// written by scripts/fixtures/make_sentencepiece_fixture.py): plain ids, Llama-2's BOS, Megatron's
// special-token scan, ids from the model file, and errors.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets/tokenizer.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

namespace me {
namespace {

const std::string kDir = std::string(ME_TEST_DATA_DIR) + "/sentencepiece/";

#ifdef ME_WITH_SENTENCEPIECE
constexpr bool kHaveSentencePiece = true;
#else
constexpr bool kHaveSentencePiece = false;
#endif

std::unique_ptr<Tokenizer> make(const std::string& type, const std::string& model) {
  TokenizerFiles files;
  files.tokenizer_model = model;
  return TokenizerRegistry::instance().create(type, files);
}

TEST_CASE("SentencePiece tokenizers match sentencepiece" * doctest::skip(!kHaveSentencePiece)) {
  std::ifstream in(kDir + "expected_ids.json");
  const auto expected = nlohmann::json::parse(in);
  const std::string model = kDir + "tiny_llama.model";
  const auto gpt = make("GPTSentencePieceTokenizer", model);
  const auto llama = make("Llama2Tokenizer", model);
  const auto t5 = make("SentencePieceTokenizer", model);
  CHECK(gpt->vocab_size() == expected["piece_size"].get<int64_t>());
  CHECK(llama->eod_id() == expected["eos_id"].get<int32_t>());
  CHECK(t5->vocab_size() == expected["sentencepiece_vocab_size"].get<int64_t>());
  CHECK(t5->eod_id() == expected["sentencepiece_eod_id"].get<int32_t>());
  for (const auto& c : expected["cases"]) {
    const std::string text = c["text"];
    CAPTURE(text);
    CHECK(gpt->encode(text) == c["gpt_sentencepiece"].get<std::vector<int32_t>>());
    CHECK(llama->encode(text) == c["llama2"].get<std::vector<int32_t>>());
    CHECK(t5->encode(text) == c["sentencepiece"].get<std::vector<int32_t>>());
  }
  CHECK(gpt->decode(gpt->encode("café 日本語 x**2")) == "café 日本語 x**2");
  CHECK(t5->decode(t5->encode("a<EOD>b")) == "a<EOD>b");
  CHECK(gpt->files_sha256() == t5->files_sha256());
}

TEST_CASE("SentencePiece model errors name the file" * doctest::skip(!kHaveSentencePiece)) {
  testing::TempDir dir;
  testing::write_text(dir / "bad.model", "not a protobuf at all");
  try {
    make("Llama2Tokenizer", dir / "bad.model");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("bad.model") != std::string::npos);
  }
  CHECK_THROWS_AS(make("Llama2Tokenizer", dir / "missing.model"), Error);
}

}  // namespace
}  // namespace me
