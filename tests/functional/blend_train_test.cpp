// End to end through the binary: training on a weighted blend and on per-split blends, the blend
// index cache reused on the second run, and mixed tokenizers refused naming both files.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/functional/corpus.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

std::string ingest(const TempDir& dir, const std::string& name, int documents,
                   const std::string& tokenizer = "--tokenizer-type byte") {
  write_text(dir / (name + ".jsonl"), grammar_corpus_jsonl(documents));
  const auto result =
      run_engine(fmt::format("ingest --input {} --output {} {} --append-eod",
                             dir / (name + ".jsonl"), dir / (name + ".h5"), tokenizer));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  return dir / (name + ".h5");
}

// A tiny model for 4 iterations on the given data section (YAML flow mapping body).
std::string recipe(const TempDir& dir, const std::string& data) {
  const std::string path = dir / "blend.yaml";
  write_text(path, fmt::format(R"(model:
  num_layers: 1
  hidden_size: 16
  num_attention_heads: 2
  seq_length: 16
  max_position_embeddings: 16
data: {{{}}}
train:
  micro_batch_size: 2
  global_batch_size: 2
  train_iters: 4
  eval_interval: 2
  eval_iters: 1
  seed: 3
optimizer:
  lr: 0.001
logging:
  log_interval: 1
)",
                               data));
  return path;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("training on a weighted blend builds then reuses the blend indices") {
  TempDir dir;
  const std::string a = ingest(dir, "a", 200), b = ingest(dir, "b", 100);
  const std::string path =
      recipe(dir, fmt::format("data_path: [0.7, {}, 0.3, {}], split: \"90,10,0\"", a, b));
  const auto first = run_engine("--recipe " + path);
  REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  CHECK(contains(first.output, "building blend indices for the train split"));
  const auto second = run_engine("--recipe " + path);
  REQUIRE_MESSAGE(second.exit_code == 0, second.output);
  CHECK(contains(second.output, "reusing the cached blend indices"));
  CHECK_FALSE(contains(second.output, "building blend indices"));
}

TEST_CASE("training on per-split blends") {
  TempDir dir;
  const std::string a = ingest(dir, "a", 200), b = ingest(dir, "b", 60);
  const auto result = run_engine(
      "--recipe " +
      recipe(dir,
             fmt::format("train_data_path: [{}], valid_data_path: [0.5, {}, 0.5, {}]", a, a, b)));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  CHECK(contains(result.output, "building blend indices for the valid split"));
}

TEST_CASE("a blend of files from two tokenizers is refused naming both") {
  TempDir dir;
  const std::string a = ingest(dir, "a", 50);
  const std::string kData = std::string(ME_TEST_DATA_DIR) + "/tokenizer/";
  const std::string b =
      ingest(dir, "b", 50,
             fmt::format("--tokenizer-type GPT2BPETokenizer --vocab-file {}vocab.json "
                         "--merge-file {}merges.txt",
                         kData, kData));
  const auto result =
      run_engine("--recipe " + recipe(dir, fmt::format("data_path: [{}, {}]", a, b)));
  CHECK(result.exit_code != 0);
  CHECK(contains(result.output, a));
  CHECK(contains(result.output, b));
  CHECK(contains(result.output, "tokenized differently"));
}
