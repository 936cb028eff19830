// End to end through the megatron-engine binary: the recompute recipe keys reach the model, and
// training with activation recompute logs exactly the losses of training without it (the tiny
// Llama recipe with dropout on and packed documents masked apart).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

#include "tests/functional/corpus.h"
#include "tests/functional/metrics.h"
#include "tests/support/process.h"

using namespace me::testing;

TEST_CASE("training with selective or full recompute logs the same losses as without") {
  TempDir dir;
  write_text(dir / "corpus.jsonl", grammar_corpus_jsonl(200));
  const auto ingest =
      run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte --append-eod",
                             dir / "corpus.jsonl", dir / "corpus.h5"));
  REQUIRE_MESSAGE(ingest.exit_code == 0, ingest.output);
  auto losses_with = [&](const std::string& name, const std::string& recompute) {
    const auto metrics = dir / (name + ".jsonl");
    const auto result = run_engine(fmt::format(
        "--recipe {}/recipes/llama/llama_tiny.yaml --set 'data.data_path=[{}]' "
        "--set 'data.split=\"90,10,0\"' --set train.train_iters=4 --set model.seq_length=32 "
        "--set model.hidden_dropout=0.1 --set model.attention_dropout=0.1 "
        "--set scheduler.lr_warmup_iters=1 "
        "--set checkpoint.save=null --set logging.log_interval=1 --set logging.metrics_file={} {}",
        ME_SOURCE_DIR, dir / "corpus.h5", metrics, recompute));
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    return train_losses(metrics);
  };
  const auto plain = losses_with("plain", "");
  REQUIRE(plain.size() == 4);
  CHECK(losses_with("selective", "--set train.recompute_granularity=selective") == plain);
  CHECK(losses_with("uniform",
                    "--set train.recompute_granularity=full --set train.recompute_method=uniform "
                    "--set train.recompute_num_layers=2") == plain);
  CHECK(losses_with("block",
                    "--set train.recompute_granularity=full --set train.recompute_method=block "
                    "--set train.recompute_num_layers=1") == plain);
}

TEST_CASE("a recompute method without full granularity stops before training") {
  const auto result = run_engine(
      fmt::format("--recipe {}/recipes/llama/llama_tiny.yaml --set train.recompute_method=block",
                  ME_SOURCE_DIR));
  CHECK(result.exit_code != 0);
  CHECK(result.output.find("train.recompute_method (block) is only used with "
                           "train.recompute_granularity: full") != std::string::npos);
}
