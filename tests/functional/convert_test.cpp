// End to end through the binary: import a transformers GPT-2, generate from it, fine-tune it
// (checkpoint.finetune: iteration reset, fresh optimizer) on data ingested with its HF tokenizer,
// and export the result back to Hugging Face.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/checkpoint/checkpoint.h"
#include "engine/checkpoint/hf_weights.h"
#include "tests/functional/corpus.h"
#include "tests/support/process.h"

using namespace me::testing;
namespace fs = std::filesystem;

namespace {

const std::string kFixture = std::string(ME_TEST_DATA_DIR) + "/convert/gpt2";

// The imported GPT-2's shape (tests/data/convert/gpt2/config.json), fine-tuned for 3 steps.
std::string finetune_recipe(const TempDir& dir, const std::string& data) {
  const std::string path = dir / "finetune.yaml";
  write_text(path, fmt::format(R"(model:
  num_layers: 2
  hidden_size: 32
  num_attention_heads: 4
  seq_length: 32
  max_position_embeddings: 32
  padded_vocab_size: 700
  hidden_dropout: 0.0
  attention_dropout: 0.0
data:
  data_path: [{}]
  split: "90,10,0"
tokenizer:
  tokenizer_type: HuggingFaceTokenizer
  tokenizer_model: {}
train:
  micro_batch_size: 2
  global_batch_size: 4
  train_iters: 3
  eval_iters: 1
  seed: 3
optimizer:
  lr: 0.001
  min_lr: 0.0001
  weight_decay: 0.0
checkpoint:
  load: {}
  finetune: true
  save: {}
  save_interval: 3
logging:
  log_interval: 1
  metrics_file: {}
)",
                               data, kFixture + "/tokenizer.json", dir / "imported", dir / "tuned",
                               dir / "metrics.jsonl"));
  return path;
}

}  // namespace

TEST_CASE("convert imports a GPT-2, fine-tunes it and exports it again") {
  TempDir dir;
  auto result = run_engine(fmt::format("convert --from hf {} --to {}", kFixture, dir / "first"));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  CHECK(fs::exists(dir / "first/iter_0000000/tokenizer.json"));
  fs::rename(dir / "first", dir / "imported");

  // generate finds the tokenizer the import carried along, also after the checkpoint moved.
  result =
      run_engine(fmt::format("generate --load {} --prompt \"the cat\" --greedy "
                             "--tokens-to-generate 4",
                             dir / "imported"));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  CHECK(result.output.find("the cat") != std::string::npos);

  write_text(dir / "corpus.jsonl", grammar_corpus_jsonl(200));
  result = run_engine(
      fmt::format("ingest --input {} --output {} --tokenizer-type "
                  "HuggingFaceTokenizer --tokenizer-model {} --append-eod",
                  dir / "corpus.jsonl", dir / "corpus.h5", kFixture + "/tokenizer.json"));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  result = run_engine("--recipe " + finetune_recipe(dir, dir / "corpus.h5"));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);

  // Fine-tuning restarts at iteration 1 and saves iteration 3 with fresh Adam state.
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string line;
  std::vector<int64_t> iterations;
  while (std::getline(metrics, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) iterations.push_back(j["iteration"].get<int64_t>());
  }
  CHECK(iterations == std::vector<int64_t>{1, 2, 3});
  const me::CheckpointManifest tuned = me::read_manifest(dir / "tuned/iter_0000003");
  CHECK(tuned.state.iteration == 3);
  CHECK(tuned.optimizer == "adam");

  result = run_engine(fmt::format("convert --from {} --to hf {}", dir / "tuned", dir / "hf"));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  CHECK(fs::exists(dir / "hf/config.json"));
  CHECK(fs::exists(dir / "hf/tokenizer.json"));
  // Three Adam steps of lr <= 1e-3 move each weight by at most ~3e-3: the export holds the
  // imported weights (randomly drawn with std 0.1), changed by training but only slightly.
  const me::HfWeights original(kFixture), exported(dir / "hf");
  REQUIRE(original.names() == exported.names());
  double max_change = 0;
  for (const auto& name : original.names()) {
    const auto a = original.read(name).to_vector<float>();
    const auto b = exported.read(name).to_vector<float>();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      max_change = std::max(max_change, static_cast<double>(std::fabs(a[i] - b[i])));
    }
  }
  MESSAGE("largest weight change after fine-tuning: " << max_change);
  CHECK(max_change > 1e-4);
  CHECK(max_change < 4e-3);
}

TEST_CASE("convert refuses bad flags and unsupported models with clear messages") {
  TempDir dir;
  auto result = run_engine("convert --from hf");
  CHECK(result.exit_code != 0);
  CHECK(result.output.find("convert needs --from hf DIR --to CKPT") != std::string::npos);
  result = run_engine(fmt::format("convert --from hf {} --to {}", dir / "nothing", dir / "c"));
  CHECK(result.exit_code != 0);
  CHECK(result.output.find("config.json") != std::string::npos);
  result = run_engine(
      fmt::format("convert --from {} --to hf {} --max-shard-size 5XB", dir / "c", dir / "hf"));
  CHECK(result.exit_code != 0);
  CHECK(result.output.find("--max-shard-size") != std::string::npos);
  CHECK(run_engine("convert --help").exit_code == 0);
}
