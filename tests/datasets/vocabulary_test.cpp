// Vocabulary resolution: training reads the data files' recorded tokenizer (they must agree) and
// pads by the model's multiple; planning reads the recipe's tokenizer or vocab_size and never a
// data file.
#include "datasets/vocabulary.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace me {
namespace {

std::string write_store(const testing::TempDir& dir, const std::string& name,
                        const std::string& tokenizer, int64_t vocab_size,
                        const std::string& sha256 = "") {
  TokenStoreMeta meta;
  meta.tokenizer_type = tokenizer;
  meta.tokenizer_sha256 = sha256;
  meta.vocab_size = vocab_size;
  meta.eod_id = static_cast<int32_t>(vocab_size - 1);
  const std::string path = dir / name;
  TokenStoreWriter writer(path, meta);
  writer.add_document(std::vector<int32_t>{1, 2, static_cast<int32_t>(vocab_size - 1)});
  writer.finish();
  return path;
}

template <typename F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return Error("no error");
}

std::string tokenizer_data(const std::string& name) { return test::test_data_dir() + "/" + name; }

TEST_CASE("training takes the data files' tokenizer and pads to the model's multiple") {
  testing::TempDir dir;
  const std::string a = write_store(dir, "a.h5", "GPT2BPETokenizer", 50257, "abc");
  const std::string b = write_store(dir, "b.h5", "GPT2BPETokenizer", 50257, "abc");
  Recipe recipe{};
  recipe.data.data_path = {"0.5", a, "0.5", b};
  const Vocabulary v = training_vocabulary(recipe, 128);
  CHECK(v.tokenizer_type == "GPT2BPETokenizer");
  CHECK(v.tokenizer_sha256 == "abc");
  CHECK(v.vocab_size == 50257);
  CHECK(v.padded_vocab_size == 50304);  // megatron-facts 2.1: 128 x tp 1
  CHECK(training_vocabulary(recipe, 128 * 8).padded_vocab_size == 51200);  // tp 8
  // An explicit model.padded_vocab_size wins, but not below the vocabulary.
  recipe.model.padded_vocab_size = 60000;
  CHECK(training_vocabulary(recipe, 128).padded_vocab_size == 60000);
  recipe.model.padded_vocab_size = 50000;
  CHECK(error_of([&] { training_vocabulary(recipe, 128); }).where() == "model.padded_vocab_size");
}

TEST_CASE("training refuses data files from two tokenizers, or another tokenizer_type") {
  testing::TempDir dir;
  const std::string a = write_store(dir, "a.h5", "byte", 257);
  const std::string b = write_store(dir, "b.h5", "byte", 257, "other");
  Recipe recipe{};
  recipe.data.data_path = {a, b};
  const Error mixed = error_of([&] { training_vocabulary(recipe, 128); });
  CHECK(mixed.where() == "data.data_path");
  CHECK(std::string(mixed.what()).find(b) != std::string::npos);
  recipe.data.data_path = {a};
  recipe.tokenizer.tokenizer_type = "GPT2BPETokenizer";
  const Error other = error_of([&] { training_vocabulary(recipe, 128); });
  CHECK(other.where() == "tokenizer.tokenizer_type");
  CHECK(other.message() ==
        "tokenizer_type is GPT2BPETokenizer but the data was tokenized with byte");
}

TEST_CASE("training on mock data takes tokenizer.vocab_size") {
  Recipe recipe{};
  recipe.data.mock_data = true;
  CHECK(error_of([&] { training_vocabulary(recipe, 128); }).where() == "tokenizer.vocab_size");
  recipe.tokenizer.vocab_size = 1000;
  const Vocabulary v = training_vocabulary(recipe, 128);
  CHECK(v.tokenizer_type == "NullTokenizer");
  CHECK(v.vocab_size == 1000);
  CHECK(v.padded_vocab_size == 1024);
}

TEST_CASE("planning reads the recipe's tokenizer files and never a data file") {
  Recipe recipe{};
  recipe.data.data_path = {"no/such/corpus.h5"};
  recipe.tokenizer.tokenizer_type = "GPT2BPETokenizer";
  recipe.tokenizer.vocab_file = tokenizer_data("tokenizer/vocab.json");
  recipe.tokenizer.merge_file = tokenizer_data("tokenizer/merges.txt");
  // expected_ids.json (written by Hugging Face tokenizers) records 700 for these files.
  CHECK(planning_vocab_size(recipe) == 700);
  // A tokenizer file that exists wins over vocab_size.
  recipe.tokenizer.vocab_size = 123;
  CHECK(planning_vocab_size(recipe) == 700);
  Recipe llama{};
  llama.tokenizer.tokenizer_type = "HuggingFaceTokenizer";
  llama.tokenizer.tokenizer_model = tokenizer_data("llama3_tokenizer/tokenizer.json");
  CHECK(planning_vocab_size(llama) == 610);  // expected_ids.json: 600 + 10 special tokens
  Recipe byte{};
  byte.tokenizer.tokenizer_type = "byte";  // needs no file
  CHECK(planning_vocab_size(byte) == 257);
}

TEST_CASE("planning falls back to tokenizer.vocab_size, else names it") {
  testing::TempDir dir;
  Recipe recipe{};
  recipe.data.data_path = {write_store(dir, "corpus.h5", "byte", 257)};  // never read
  recipe.tokenizer.tokenizer_type = "HuggingFaceTokenizer";
  recipe.tokenizer.tokenizer_model = dir / "absent/tokenizer.json";
  recipe.tokenizer.vocab_size = 128256;
  CHECK(planning_vocab_size(recipe) == 128256);
  // A tokenizer that needs files the recipe does not name falls back too.
  recipe.tokenizer.tokenizer_model.reset();
  CHECK(planning_vocab_size(recipe) == 128256);

  // Nothing names the size: a recipe error.
  recipe.tokenizer.vocab_size.reset();
  const Error none = error_of([&] { planning_vocab_size(recipe); });
  CHECK(none.where() == "tokenizer.vocab_size");
  CHECK(none.code() == ExitCode::kConfig);
  CHECK(std::string(none.what()).find("tokenizer file") != std::string::npos);
  // A named tokenizer file that is missing: a data error naming the file.
  recipe.tokenizer.tokenizer_model = dir / "absent/tokenizer.json";
  const Error missing = error_of([&] { planning_vocab_size(recipe); });
  CHECK(missing.where() == "tokenizer.vocab_size");
  CHECK(missing.code() == ExitCode::kData);
  CHECK(std::string(missing.what()).find(dir / "absent/tokenizer.json") != std::string::npos);
}

TEST_CASE("planning refuses a damaged tokenizer file as a data error") {
  testing::TempDir dir;
  testing::write_text(dir / "tokenizer.json", "{ not json");
  Recipe recipe{};
  recipe.tokenizer.tokenizer_type = "HuggingFaceTokenizer";
  recipe.tokenizer.tokenizer_model = dir / "tokenizer.json";
  recipe.tokenizer.vocab_size = 1000;
  const Error damaged = error_of([&] { planning_vocab_size(recipe); });
  CHECK(damaged.where() == dir / "tokenizer.json");
  CHECK(damaged.code() == ExitCode::kData);
}

}  // namespace
}  // namespace me
