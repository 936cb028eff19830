// Llama-3-style tokenizer.json (Split regex + ByteLevel, special tokens, BOS template) against
// Hugging Face `tokenizers` (tests/data/llama3_tokenizer/, written by
// scripts/fixtures/make_llama3_tokenizer_fixture.py), and refusals naming the JSON path.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "datasets/tokenizer.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

using me::testing::TempDir;
using me::testing::write_text;

namespace {

const std::string kDir = std::string(ME_TEST_DATA_DIR) + "/llama3_tokenizer/";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

std::unique_ptr<me::Tokenizer> hugging_face(const std::string& path = kDir + "tokenizer.json") {
  me::TokenizerFiles files;
  files.tokenizer_model = path;
  return me::TokenizerRegistry::instance().create("HuggingFaceTokenizer", files);
}

std::string error_of(const std::string& path) {
  try {
    hugging_face(path);
  } catch (const me::Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("Llama-3 tokenizer.json matches tokenizers id for id") {
  const auto expected = read_json(kDir + "expected_ids.json");
  const auto tokenizer = hugging_face();
  CHECK(tokenizer->vocab_size() == expected["vocab_size"].get<int64_t>());
  CHECK(tokenizer->eod_id() == expected["eod_id"].get<int32_t>());
  const int32_t bos = expected["bos_id"].get<int32_t>();
  for (const auto& c : expected["cases"]) {
    const std::string text = c["text"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    INFO("text: '" << text << "'");
    REQUIRE(ids.front() == bos);
    CHECK(tokenizer->encode(text) == ids);
    CHECK(tokenizer->decode({ids.begin() + 1, ids.end()}) == text);
  }
  const std::string whole = expected["whole_text"]["text"].get<std::string>();
  const auto whole_ids = expected["whole_text"]["ids"].get<std::vector<int32_t>>();
  REQUIRE(whole_ids.size() > 200);
  CHECK(tokenizer->encode(whole) == whole_ids);
}

TEST_CASE("Llama-3 special tokens are single ids and the eot and header tokens are distinct") {
  const auto expected = read_json(kDir + "expected_ids.json");
  const auto tokenizer = hugging_face();
  const int32_t bos = expected["bos_id"].get<int32_t>();
  const int32_t eot = expected["eot_id"].get<int32_t>();
  CHECK(tokenizer->encode("<|eot_id|>") == std::vector<int32_t>{bos, eot});
  CHECK(tokenizer->encode("<|end_of_text|>") == std::vector<int32_t>{bos, tokenizer->eod_id()});
  CHECK(tokenizer->decode({bos, eot}) == "<|begin_of_text|><|eot_id|>");
  CHECK(eot != tokenizer->eod_id());
}

TEST_CASE("Llama-3 pipeline round-trips ill-formed UTF-8 as single bytes") {
  const auto tokenizer = hugging_face();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int trial = 0; trial < 100; ++trial) {
    std::string text(size_t(1 + trial * 5), '\0');
    for (auto& ch : text) ch = char(byte(rng));
    auto ids = tokenizer->encode(text);
    ids.erase(ids.begin());  // BOS
    REQUIRE(tokenizer->decode(ids) == text);
  }
}

TEST_CASE("tokenizer.json pipelines other than GPT-2 and Llama-3 are refused by JSON path") {
  const auto original = read_json(kDir + "tokenizer.json");
  TempDir dir;
  const auto check_refused = [&](const nlohmann::json& j, const std::string& what) {
    write_text(dir / "tokenizer.json", j.dump());
    const std::string message = error_of(dir / "tokenizer.json");
    CHECK(contains(message, dir / "tokenizer.json"));
    CHECK_MESSAGE(contains(message, what), message);
  };
  auto other_regex = original;  // Qwen2's pattern: single digits
  std::string pattern = other_regex["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"];
  pattern.replace(pattern.find("\\p{N}{1,3}"), 10, "\\p{N}");
  other_regex["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = pattern;
  check_refused(other_regex, "pre_tokenizer.pretokenizers[0].pattern.Regex");

  auto removed = original;
  removed["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed";
  check_refused(removed, "pre_tokenizer.pretokenizers[0].behavior \"Removed\"");

  auto string_split = original;
  string_split["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"String", " "}};
  check_refused(string_split, "pre_tokenizer.pretokenizers[0].pattern");

  auto digits = original;
  digits["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Digits"}, {"individual_digits", true}};
  check_refused(digits, "pre_tokenizer.pretokenizers[0] 'Digits' is not supported");

  auto regex_twice = original;
  regex_twice["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = true;
  check_refused(regex_twice, "pre_tokenizer.pretokenizers[1].use_regex");

  auto prefix = original;
  prefix["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true;
  check_refused(prefix, "pre_tokenizer.pretokenizers[1].add_prefix_space");

  auto nfc = original;
  nfc["normalizer"] = {{"type", "NFC"}};
  check_refused(nfc, "normalizer 'NFC' is not supported");

  auto bert = original;
  bert["post_processor"]["processors"][1] = {{"type", "BertProcessing"}};
  check_refused(bert, "post_processor.processors[1] 'BertProcessing' is not supported");

  auto no_ids = original;
  no_ids["post_processor"]["processors"][1]["special_tokens"] = nlohmann::json::object();
  check_refused(no_ids, "post_processor.processors[1].special_tokens[\"<|begin_of_text|>\"].ids");

  auto lstrip = original;
  lstrip["added_tokens"][9]["lstrip"] = true;
  check_refused(lstrip, "added_tokens[9].lstrip");
}

TEST_CASE("Llama-3 tokenizer.json without a config names its eos or refuses") {
  auto j = read_json(kDir + "tokenizer.json");
  TempDir dir;
  write_text(dir / "tokenizer.json", j.dump());
  CHECK(contains(error_of(dir / "tokenizer.json"), "cannot tell the end-of-document token"));
  write_text(dir / "tokenizer_config.json", R"({"eos_token": "<|eot_id|>"})");
  const auto expected = read_json(kDir + "expected_ids.json");
  CHECK(hugging_face(dir / "tokenizer.json")->eod_id() == expected["eot_id"].get<int32_t>());
}
