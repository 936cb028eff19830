// check_for_nan_in_loss_and_grad end to end: a NaN injected at a chosen iteration stops the run
// with exit code 4, a message naming iteration, rank and parameter, and the last checkpoint intact.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fstream>

#include "tests/functional/corpus.h"
#include "tests/functional/metrics.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

std::string nan_recipe(const TempDir& dir) {
  write_text(dir / "corpus.jsonl", grammar_corpus_jsonl(200));
  const auto ingest =
      run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte --append-eod",
                             dir / "corpus.jsonl", dir / "corpus.h5"));
  REQUIRE_MESSAGE(ingest.exit_code == 0, ingest.output);
  const std::string path = dir / "nan.yaml";
  write_text(path, fmt::format(R"(model:
  num_layers: 2
  hidden_size: 32
  num_attention_heads: 2
  seq_length: 32
  max_position_embeddings: 32
data:
  data_path: [{}]
  split: "100,0,0"
train:
  micro_batch_size: 2
  train_iters: 10
  eval_iters: 0
optimizer:
  lr: 0.001
checkpoint:
  save: {}
  save_interval: 4
logging:
  log_interval: 1
  metrics_file: {}
)",
                               dir / "corpus.h5", dir / "ckpt", dir / "metrics.jsonl"));
  return path;
}

std::string latest(const std::string& ckpt) {
  std::ifstream in(ckpt + "/latest");
  std::string name;
  in >> name;
  return name;
}

}  // namespace

TEST_CASE("a NaN injected at iteration 6 stops the run with exit code 4 naming the culprit") {
  TempDir dir;
  const std::string recipe = nan_recipe(dir);
  const auto run =
      run_engine(fmt::format("--recipe {} --set train.inject_nan_at_iteration=6", recipe));
  CHECK_MESSAGE(run.exit_code == 4, run.output);
  CHECK_MESSAGE(run.output.find("not finite at iteration 6 on rank 0/1") != std::string::npos,
                run.output);
  // Every gradient is NaN, so the first parameter in forward order is the word embedding.
  CHECK_MESSAGE(run.output.find("gradient holds NaN/Inf is 'embedding.word_embeddings.weight'") !=
                    std::string::npos,
                run.output);
  // Iterations 1..5 were logged, 6 never completed; the save at 4 is the last one.
  const auto losses = train_losses(dir / "metrics.jsonl");
  CHECK(losses.size() == 5);
  CHECK(latest(dir / "ckpt") == "iter_0000004");
  const auto generated = run_engine(fmt::format(
      "generate --load {} --prompt 'the cat' --tokens-to-generate 4 --greedy", dir / "ckpt"));
  CHECK_MESSAGE(generated.exit_code == 0, generated.output);
}

TEST_CASE("with check_for_nan_in_loss_and_grad off the NaN does not stop the run") {
  TempDir dir;
  const std::string recipe = nan_recipe(dir);
  const auto run =
      run_engine(fmt::format("--recipe {} --set train.inject_nan_at_iteration=6 "
                             "--set train.check_for_nan_in_loss_and_grad=false",
                             recipe));
  CHECK_MESSAGE(run.exit_code == 0, run.output);
  CHECK(latest(dir / "ckpt") == "iter_0000010");
}
