// overlap_grad_reduce and overlap_param_gather end to end under mpirun, with ddp_bucket_size
// giving about a dozen buckets: dp 2, dp 2 with the distributed optimizer, pp 2 x dp 2 (tied
// embeddings: the word embedding's bucket waits for the embedding-group all-reduce), interleaved
// pp 2 x dp 2 with the distributed optimizer (each chunk's last backward reports its layers; the
// last stage's tied copy is gathered before the head reads it) and tp 2 x dp 2 (sequence
// parallel, distributed optimizer) train a tiny GPT for 10 steps with losses, gradient norms and
// validation losses equal to the same layout without overlap (the same collectives on the same
// buckets, started earlier) and to one rank up to summation order; an evaluation and a checkpoint
// between steps see the gathered parameters.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

#include "tests/functional/metrics.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

// 4 layers; global batch 8 of micro-batches of 2: 4 micro-batches at dp 1, 2 at dp 2.
constexpr const char* kRecipe = R"(model: {num_layers: 4, hidden_size: 32, num_attention_heads: 4,
  seq_length: 32, max_position_embeddings: 32, hidden_dropout: 0.0, attention_dropout: 0.0}
data: {mock_data: true}
tokenizer: {vocab_size: 200}
train: {micro_batch_size: 2, global_batch_size: 8, train_iters: 10, eval_iters: 1,
  eval_interval: 5}
optimizer: {lr: 0.005}
parallel: {ddp_bucket_size: 5000}
logging: {log_interval: 1}
)";

constexpr const char* kOverlapGrads = "--set parallel.overlap_grad_reduce=true";
constexpr const char* kOverlapBoth =
    "--set parallel.overlap_grad_reduce=true --set parallel.overlap_param_gather=true";

struct Layout {
  const char* name;
  int ranks;
  const char* sets;
  const char* overlap;
};

}  // namespace

TEST_CASE("overlapped data-parallel communication trains like the plain run and one rank") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const auto one = train_on_ranks(dir, 1, "one.jsonl", "");
  REQUIRE_MESSAGE(one.exit_code == 0, one.output);
  const auto losses = train_losses(dir / "one.jsonl");
  const auto norms = grad_norms(dir / "one.jsonl");
  REQUIRE(losses.size() == 10);
  CHECK(losses.rbegin()->second < losses.begin()->second - 0.15);  // it trained
  const Layout layouts[] = {
      {"dp2", 2, "", kOverlapGrads},
      {"dp2_distributed_optimizer", 2,
       "--set parallel.use_distributed_optimizer=true --set checkpoint.save={ckpt} "
       "--set checkpoint.save_interval=3",
       kOverlapBoth},
      {"pp2_dp2", 4, "--set parallel.pipeline_model_parallel_size=2", kOverlapGrads},
      {"pp2_vpp2_dp2_distributed_optimizer", 4,
       "--set parallel.pipeline_model_parallel_size=2 "
       "--set parallel.num_layers_per_virtual_pipeline_stage=1 "
       "--set parallel.use_distributed_optimizer=true",
       kOverlapBoth},
      {"tp2_dp2_sequence_parallel", 4,
       "--set parallel.tensor_model_parallel_size=2 --set parallel.sequence_parallel=true "
       "--set parallel.use_distributed_optimizer=true",
       kOverlapBoth},
  };
  for (const Layout& layout : layouts) {
    const std::string name = layout.name;
    CAPTURE(name);
    const std::string plain_metrics = fmt::format("{}_plain.jsonl", layout.name);
    const std::string overlap_metrics = fmt::format("{}_overlap.jsonl", layout.name);
    const auto sets = [&](const std::string& run) {
      return fmt::format(fmt::runtime(layout.sets), fmt::arg("ckpt", dir / run));
    };
    const auto plain =
        train_on_ranks(dir, layout.ranks, plain_metrics, sets(plain_metrics + ".ckpt"));
    REQUIRE_MESSAGE(plain.exit_code == 0, plain.output);
    const auto overlap =
        train_on_ranks(dir, layout.ranks, overlap_metrics,
                       fmt::format("{} {}", sets(overlap_metrics + ".ckpt"), layout.overlap));
    REQUIRE_MESSAGE(overlap.exit_code == 0, overlap.output);
    const auto want = train_losses(dir / plain_metrics);
    const auto want_norms = grad_norms(dir / plain_metrics);
    const auto want_valid = metric_series(dir / plain_metrics, "valid_loss");
    const auto got = train_losses(dir / overlap_metrics);
    const auto got_norms = grad_norms(dir / overlap_metrics);
    const auto got_valid = metric_series(dir / overlap_metrics, "valid_loss");
    REQUIRE(got.size() == 10);
    REQUIRE(got_valid.size() == 2);
    CHECK(got == want);
    CHECK(got_norms == want_norms);
    CHECK(got_valid == want_valid);
    for (const auto& [iteration, loss] : losses) {
      INFO("iteration " << iteration);
      CHECK(got.at(iteration) == doctest::Approx(loss).epsilon(1e-5));
      CHECK(got_norms.at(iteration) == doctest::Approx(norms.at(iteration)).epsilon(1e-4));
    }
  }
}
