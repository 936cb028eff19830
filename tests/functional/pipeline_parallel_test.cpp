// Pipeline parallelism end to end under mpirun: pp 2 (1F1B), pp 2 interleaved (vpp 2), pp 3 with
// uneven first/last stages, pp 2 x dp 2 with the distributed optimizer, tp 2 x pp 2 and
// tp 2 x pp 2 x dp 2 (8 ranks) train a tiny GPT (tied embeddings) for 10 steps with the losses
// (1e-5 relative: fp32 sums in another order), gradient norms and validation loss of one rank on
// the same global batch and seed; a pp 2 checkpoint resumes with the uninterrupted losses at pp 2
// and at pp 1, a pp 1 checkpoint at tp 2 x pp 2; invalid layouts are errors.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <string>

#include "tests/functional/metrics.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

// 4 layers; global batch 8 of micro-batches of 1: 8 micro-batches at dp 1, 4 at dp 2.
constexpr const char* kRecipe = R"(model: {num_layers: 4, hidden_size: 32, num_attention_heads: 4,
  seq_length: 32, max_position_embeddings: 32, hidden_dropout: 0.0, attention_dropout: 0.0}
data: {mock_data: true}
tokenizer: {vocab_size: 200}
train: {micro_batch_size: 1, global_batch_size: 8, train_iters: 10, eval_iters: 1,
  eval_interval: 5}
optimizer: {lr: 0.005}
logging: {log_interval: 1}
)";

struct Layout {
  const char* name;
  int ranks;
  const char* sets;
};

}  // namespace

TEST_CASE("pipeline layouts train 10 steps like one rank") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const auto one = train_on_ranks(dir, 1, "one.jsonl", "");
  REQUIRE_MESSAGE(one.exit_code == 0, one.output);
  const auto losses = train_losses(dir / "one.jsonl");
  const auto norms = grad_norms(dir / "one.jsonl");
  const auto valid = metric_series(dir / "one.jsonl", "valid_loss");
  REQUIRE(losses.size() == 10);
  REQUIRE(valid.size() == 2);
  CHECK(losses.rbegin()->second < losses.begin()->second - 0.15);  // it trained
  const Layout layouts[] = {
      {"pp2", 2, "--set parallel.pipeline_model_parallel_size=2"},
      {"pp2_vpp2", 2,
       "--set parallel.pipeline_model_parallel_size=2 "
       "--set parallel.num_layers_per_virtual_pipeline_stage=1"},
      {"pp3_uneven", 3,
       "--set parallel.pipeline_model_parallel_size=3 "
       "--set parallel.decoder_first_pipeline_num_layers=1 "
       "--set parallel.decoder_last_pipeline_num_layers=1"},
      {"tp2_pp2", 4,
       "--set parallel.pipeline_model_parallel_size=2 "
       "--set parallel.tensor_model_parallel_size=2"},
      {"pp2_dp2_distributed_optimizer", 4,
       "--set parallel.pipeline_model_parallel_size=2 "
       "--set parallel.use_distributed_optimizer=true"},
      {"tp2_pp2_dp2", 8,
       "--set parallel.pipeline_model_parallel_size=2 "
       "--set parallel.tensor_model_parallel_size=2"},
  };
  for (const Layout& layout : layouts) {
    CAPTURE(layout.name);
    const std::string metrics = fmt::format("{}.jsonl", layout.name);
    const auto run = train_on_ranks(dir, layout.ranks, metrics, layout.sets);
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    const auto got = train_losses(dir / metrics);
    const auto got_norms = grad_norms(dir / metrics);
    const auto got_valid = metric_series(dir / metrics, "valid_loss");
    REQUIRE(got.size() == 10);
    REQUIRE(got_valid.size() == 2);
    for (const auto& [iteration, loss] : losses) {
      INFO("iteration " << iteration);
      CHECK(got.at(iteration) == doctest::Approx(loss).epsilon(1e-5));
      CHECK(got_norms.at(iteration) == doctest::Approx(norms.at(iteration)).epsilon(1e-4));
    }
    for (const auto& [iteration, loss] : valid) {
      CHECK(got_valid.at(iteration) == doctest::Approx(loss).epsilon(1e-5));
    }
  }
}

TEST_CASE(
    "pp 2 checkpoints resume at pp 2 and pp 1 and tp 2 x pp 2 ones at tp 1 x pp 1 and the "
    "reverse") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const std::string pp = "--set parallel.pipeline_model_parallel_size=2 --set train.eval_iters=0";
  const auto full = train_on_ranks(dir, 2, "full.jsonl", pp);
  REQUIRE_MESSAGE(full.exit_code == 0, full.output);
  const std::string ckpt = dir / "ckpt";
  const auto first =
      train_on_ranks(dir, 2, "first.jsonl",
                     fmt::format("{} --set train.exit_interval=5 --set checkpoint.save={} "
                                 "--set checkpoint.save_interval=5",
                                 pp, ckpt));
  REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  const auto resumed =
      train_on_ranks(dir, 2, "resumed.jsonl", fmt::format("{} --set checkpoint.load={}", pp, ckpt));
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.output);
  const auto want = train_losses(dir / "full.jsonl");
  const auto got = train_losses(dir / "resumed.jsonl");
  REQUIRE(got.size() == 5);
  for (const auto& [iteration, loss] : got) {
    INFO("iteration " << iteration);
    CHECK(iteration > 5);
    CHECK(loss == doctest::Approx(want.at(iteration)).epsilon(1e-6));
  }
  // Across layouts: the pp 2 checkpoint at pp 1, and a pp 1 checkpoint at tp 2 x pp 2, where the
  // last stage's tied embedding copy is read from the one word table saved.
  const auto at_pp1 = train_on_ranks(
      dir, 1, "pp1.jsonl", fmt::format("--set train.eval_iters=0 --set checkpoint.load={}", ckpt));
  REQUIRE_MESSAGE(at_pp1.exit_code == 0, at_pp1.output);
  const std::string ckpt1 = dir / "ckpt1";
  const auto single =
      train_on_ranks(dir, 1, "single.jsonl",
                     fmt::format("--set train.eval_iters=0 --set train.exit_interval=5 "
                                 "--set checkpoint.save={} --set checkpoint.save_interval=5",
                                 ckpt1));
  REQUIRE_MESSAGE(single.exit_code == 0, single.output);
  const auto at_tp2_pp2 = train_on_ranks(
      dir, 4, "tp2_pp2.jsonl",
      fmt::format("{} --set parallel.tensor_model_parallel_size=2 --set checkpoint.load={}", pp,
                  ckpt1));
  REQUIRE_MESSAGE(at_tp2_pp2.exit_code == 0, at_tp2_pp2.output);
  // And a tp 2 x pp 2 checkpoint (four shard files) resumed on one rank.
  const std::string ckpt4 = dir / "ckpt4";
  const auto four =
      train_on_ranks(dir, 4, "four.jsonl",
                     fmt::format("{} --set parallel.tensor_model_parallel_size=2 --set "
                                 "train.exit_interval=5 --set checkpoint.save={} --set "
                                 "checkpoint.save_interval=5",
                                 pp, ckpt4));
  REQUIRE_MESSAGE(four.exit_code == 0, four.output);
  const auto from_four =
      train_on_ranks(dir, 1, "from_tp2_pp2.jsonl",
                     fmt::format("--set train.eval_iters=0 --set checkpoint.load={}", ckpt4));
  REQUIRE_MESSAGE(from_four.exit_code == 0, from_four.output);
  for (const char* metrics : {"pp1.jsonl", "tp2_pp2.jsonl", "from_tp2_pp2.jsonl"}) {
    CAPTURE(metrics);
    const auto other = train_losses(dir / metrics);
    REQUIRE(other.size() == 5);
    for (const auto& [iteration, loss] : other) {
      CHECK(loss == doctest::Approx(want.at(iteration)).epsilon(1e-5));
    }
  }
}

TEST_CASE("invalid pipeline layouts are errors naming the fields") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  // 8 micro-batches over pp 2 would interleave; 3 layers do not split into 2 stages of chunks.
  const auto odd =
      train_on_ranks(dir, 2, "m.jsonl",
                     "--set parallel.pipeline_model_parallel_size=2 --set model.num_layers=3 "
                     "--set parallel.num_layers_per_virtual_pipeline_stage=1");
  CHECK(odd.exit_code != 0);
  CHECK_MESSAGE(
      odd.output.find("model.num_layers (3) must be divisible by "
                      "parallel.pipeline_model_parallel_size (2) times "
                      "parallel.num_layers_per_virtual_pipeline_stage (1)") != std::string::npos,
      odd.output);
}
