// Tokenizers against Hugging Face `tokenizers` (ids in tests/data/tokenizer/expected_ids.json,
// written by scripts/fixtures/make_bpe_fixture.py), round trips, and errors for bad files.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "datasets/byte_tokenizer.h"
#include "datasets/tokenizer.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

using me::testing::TempDir;
using me::testing::write_text;

namespace {

const std::string kDir = std::string(ME_TEST_DATA_DIR) + "/tokenizer/";

nlohmann::json expected_ids() {
  std::ifstream in(kDir + "expected_ids.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

std::unique_ptr<me::Tokenizer> hugging_face(const std::string& path = kDir + "tokenizer.json") {
  me::TokenizerFiles files;
  files.tokenizer_model = path;
  return me::TokenizerRegistry::instance().create("HuggingFaceTokenizer", files);
}

std::unique_ptr<me::Tokenizer> gpt2(const std::string& vocab = kDir + "vocab.json",
                                    const std::string& merges = kDir + "merges.txt") {
  me::TokenizerFiles files;
  files.vocab_file = vocab;
  files.merge_file = merges;
  return me::TokenizerRegistry::instance().create("GPT2BPETokenizer", files);
}

// The message of the me::Error that f throws ("" if it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const me::Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(n, '\0');
  for (auto& c : s) c = char(byte(rng));
  return s;
}

void check_parity(const me::Tokenizer& tokenizer) {
  const auto expected = expected_ids();
  CHECK(tokenizer.vocab_size() == expected["vocab_size"].get<int64_t>());
  CHECK(tokenizer.eod_id() == expected["eod_id"].get<int32_t>());
  for (const auto& c : expected["cases"]) {
    const std::string text = c["text"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    INFO("text: '" << text << "'");
    CHECK(tokenizer.encode(text) == ids);
    CHECK(tokenizer.decode(ids) == text);
  }
  const std::string whole = expected["whole_text"]["text"].get<std::string>();
  const auto whole_ids = expected["whole_text"]["ids"].get<std::vector<int32_t>>();
  REQUIRE(whole_ids.size() > 100);
  CHECK(tokenizer.encode(whole) == whole_ids);
  CHECK(tokenizer.decode(tokenizer.encode(whole)) == whole);
}

}  // namespace

TEST_CASE("HuggingFaceTokenizer matches tokenizers on the fixture strings") {
  const auto tokenizer = hugging_face();
  CHECK(tokenizer->type() == "HuggingFaceTokenizer");
  check_parity(*tokenizer);
}

TEST_CASE("GPT2BPETokenizer from vocab.json and merges.txt matches tokenizers") {
  const auto tokenizer = gpt2();
  CHECK(tokenizer->type() == "GPT2BPETokenizer");
  check_parity(*tokenizer);
  const std::string sha = tokenizer->files_sha256();
  CHECK(sha.size() == 64 + 1 + 64);
  CHECK(sha[64] == ',');
}

TEST_CASE("byte-level BPE round-trips arbitrary bytes including ill-formed UTF-8") {
  const auto tokenizer = hugging_face();
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    const std::string text = random_bytes(rng, 1 + trial * 3);
    const auto ids = tokenizer->encode(text);
    for (int32_t id : ids) REQUIRE((id >= 0 && id < tokenizer->vocab_size()));
    REQUIRE(tokenizer->decode(ids) == text);
  }
  // A lone continuation byte, a truncated 3-byte sequence, an encoded surrogate, an overlong '/'.
  for (const std::string bad : {"a\x80z", "\xE6\x97", "x\xED\xA0\x80y", "\xC0\xAF"}) {
    CHECK(tokenizer->decode(tokenizer->encode(bad)) == bad);
  }
}

TEST_CASE("byte tokenizer maps bytes to ids 0..255 with eod 256") {
  const auto tokenizer = me::TokenizerRegistry::instance().create("byte", me::TokenizerFiles{});
  CHECK(tokenizer->vocab_size() == 257);
  CHECK(tokenizer->eod_id() == 256);
  CHECK(tokenizer->files_sha256().empty());
  CHECK(tokenizer->encode("A\xC3\xA9") == std::vector<int32_t>{65, 0xC3, 0xA9});
  std::mt19937 rng(99);
  for (int trial = 0; trial < 50; ++trial) {
    const std::string text = random_bytes(rng, size_t(trial * 17));
    const auto ids = tokenizer->encode(text);
    REQUIRE(ids.size() == text.size());
    for (size_t i = 0; i < ids.size(); ++i) REQUIRE(ids[i] == int32_t(uint8_t(text[i])));
    REQUIRE(tokenizer->decode(ids) == text);
  }
  CHECK(tokenizer->decode({104, 105, 256}) == "hi");
  CHECK(contains(error_of([&] { tokenizer->decode({257}); }), "257"));
  CHECK(contains(error_of([&] { tokenizer->decode({-1}); }), "-1"));
}

TEST_CASE("BPE decode rejects ids outside the vocabulary") {
  const auto tokenizer = gpt2();
  const std::string message = error_of([&] { tokenizer->decode({1, 700}); });
  CHECK(contains(message, "700"));
  CHECK(contains(message, "GPT2BPETokenizer"));
}

TEST_CASE("missing tokenizer files and flags are named in the error") {
  TempDir dir;
  CHECK(contains(error_of([&] { gpt2(dir / "nope.json"); }), dir / "nope.json"));
  CHECK(contains(error_of([&] { gpt2(kDir + "vocab.json", dir / "none.txt"); }), dir / "none.txt"));
  CHECK(contains(error_of([&] { hugging_face(dir / "missing.json"); }), "not found"));
  CHECK(contains(error_of([&] { hugging_face(dir.path().string()); }), "directory"));
  me::TokenizerFiles only_vocab;
  only_vocab.vocab_file = kDir + "vocab.json";
  const std::string needs =
      error_of([&] { me::TokenizerRegistry::instance().create("GPT2BPETokenizer", only_vocab); });
  CHECK(contains(needs, "--merge-file"));
  const std::string typo =
      error_of([&] { me::TokenizerRegistry::instance().create("GPT2BPETokeniser", {}); });
  CHECK(contains(typo, "did you mean 'GPT2BPETokenizer'"));
}

TEST_CASE("malformed JSON is reported with file and byte position") {
  TempDir dir;
  write_text(dir / "vocab.json", "{\"a\": 1,\n \"b\": }");
  const std::string message = error_of([&] { gpt2(dir / "vocab.json"); });
  CHECK(contains(message, dir / "vocab.json"));
  CHECK(contains(message, "malformed JSON at byte 16"));
  write_text(dir / "tokenizer.json", "[1, 2");
  CHECK(contains(error_of([&] { hugging_face(dir / "tokenizer.json"); }), "malformed JSON"));
  write_text(dir / "ids.json", "{\"a\": \"one\"}");
  CHECK(contains(error_of([&] { gpt2(dir / "ids.json"); }), "expected an integer"));
}

TEST_CASE("bad merges name the file and line") {
  TempDir dir;
  write_text(dir / "merges.txt", "#version: 0.2\n\xC4\xA0 t\nonlyone\n");
  CHECK(contains(error_of([&] { gpt2(kDir + "vocab.json", dir / "merges.txt"); }),
                 dir / "merges.txt" + ":3: error: expected two tokens"));
  write_text(dir / "unknown.txt", "#version: 0.2\n\xC4\xA0 t\nzzq x\n");
  const std::string message = error_of([&] { gpt2(kDir + "vocab.json", dir / "unknown.txt"); });
  CHECK(contains(message, dir / "unknown.txt" + ":3"));
  CHECK(contains(message, "'zzq', which is not in the vocabulary"));
}

TEST_CASE("unsupported tokenizer.json models are refused by name") {
  std::ifstream in(kDir + "tokenizer.json");
  const auto original = nlohmann::json::parse(in);
  TempDir dir;
  const auto check_refused = [&](nlohmann::json j, const std::string& what) {
    write_text(dir / "t.json", j.dump());
    const std::string message = error_of([&] { hugging_face(dir / "t.json"); });
    CHECK(contains(message, dir / "t.json"));
    CHECK_MESSAGE(contains(message, what), message);
  };
  auto word_piece = original;
  word_piece["model"]["type"] = "WordPiece";
  check_refused(word_piece, "model.type 'WordPiece' is not supported");
  auto metaspace = original;
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}};
  check_refused(metaspace, "pre_tokenizer 'Metaspace' is not supported");
  auto lowercase = original;
  lowercase["normalizer"] = {{"type", "Lowercase"}};
  check_refused(lowercase, "normalizer 'Lowercase'");
  auto no_eod = original;
  no_eod["added_tokens"] = nlohmann::json::array();
  no_eod["model"]["vocab"].erase("<|endoftext|>");
  check_refused(no_eod, "cannot tell the end-of-document token");
  auto bad_merge = original;
  bad_merge["model"]["merges"][5] = {"\xC4\xA0", "nosuchtoken"};
  check_refused(bad_merge, "model.merges[5]");
}

TEST_CASE("tokenizer_config.json beside tokenizer.json names the eod token") {
  std::ifstream in(kDir + "tokenizer.json");
  auto j = nlohmann::json::parse(in);
  TempDir dir;
  write_text(dir / "tokenizer.json", j.dump());
  write_text(dir / "tokenizer_config.json", R"({"eos_token": {"content": "the"}})");
  const auto tokenizer = hugging_face(dir / "tokenizer.json");
  CHECK(tokenizer->eod_id() == j["model"]["vocab"]["the"].get<int32_t>());
}
