// Sequence parallelism and tensor parallelism with the distributed optimizer, end to end under
// mpirun: a tiny GPT (with hidden dropout at dp 1) and a tiny Llama (GQA, SwiGLU, RoPE, RMSNorm,
// untied) at tp 2 with sequence_parallel (also with pp 2 and full recompute), and at tp 2 x dp 2
// with use_distributed_optimizer (with and without sequence parallelism), train 10 Adam steps
// with the losses (1e-5 relative) and clipped gradient norms (1e-4) of one rank on the same
// global batch and seed; a tp 2 x dp 2 distributed-optimizer checkpoint resumes with the
// uninterrupted losses; tp 2 with qk_layernorm; tp 2 (and tp 2 x dp 2) with attention and hidden
// dropout, with and without sequence parallelism; the sequence-parallel recipe rules.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <string>

#include "tests/functional/metrics.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

// Global batch 8: 4 micro-batches of 2 at dp 1, 2 x 2 at dp 2. seq_length 30: 15 per tp rank.
constexpr const char* kRecipe = R"(model: {num_layers: 2, hidden_size: 32, num_attention_heads: 4,
  seq_length: 30, max_position_embeddings: 32, hidden_dropout: 0.0, attention_dropout: 0.0}
data: {mock_data: true}
tokenizer: {vocab_size: 200}
train: {micro_batch_size: 2, global_batch_size: 8, train_iters: 10, eval_iters: 0}
optimizer: {lr: 0.005, clip_grad: 0.5}
logging: {log_interval: 1}
)";

constexpr const char* kSequenceParallel = " --set parallel.sequence_parallel=true";
constexpr const char* kDistributedOptimizer = " --set parallel.use_distributed_optimizer=true";

CommandResult train(const TempDir& dir, int ranks, int tp, const std::string& metrics,
                    const std::string& sets) {
  return train_on_ranks(dir, ranks, metrics,
                        fmt::format("--set parallel.tensor_model_parallel_size={} {}", tp, sets));
}

// Trains `model` with `common` on one rank and on `ranks` ranks at tp 2 with `common` and
// `parallel`; the runs must agree.
void check_like_one_rank(const TempDir& dir, const std::string& model, int ranks,
                         const std::string& common, const std::string& parallel) {
  CAPTURE(model);
  CAPTURE(ranks);
  CAPTURE(parallel);
  const std::string name =
      fmt::format("{}_{}_{}", model, ranks, std::hash<std::string>{}(common + parallel));
  const std::string model_sets = model == "llama" ? kTinyLlamaSets : "";
  const auto one = train(dir, 1, 1, name + "_one.jsonl", model_sets + common);
  REQUIRE_MESSAGE(one.exit_code == 0, one.output);
  const auto reference = train_losses(dir / (name + "_one.jsonl"));
  const auto reference_norms = grad_norms(dir / (name + "_one.jsonl"));
  REQUIRE(reference.size() == 10);
  CHECK(reference.rbegin()->second < reference.begin()->second - 0.15);  // it trained
  CHECK(reference_norms.begin()->second > 0.5);  // clipping at 0.5 acts: the norm matters

  const auto run = train(dir, ranks, 2, name + ".jsonl", model_sets + common + parallel);
  REQUIRE_MESSAGE(run.exit_code == 0, run.output);
  const auto losses = train_losses(dir / (name + ".jsonl"));
  const auto norms = grad_norms(dir / (name + ".jsonl"));
  REQUIRE(losses.size() == 10);
  for (const auto& [iteration, loss] : reference) {
    INFO("iteration " << iteration);
    CHECK(losses.at(iteration) == doctest::Approx(loss).epsilon(1e-5));
    CHECK(norms.at(iteration) == doctest::Approx(reference_norms.at(iteration)).epsilon(1e-4));
  }
}

}  // namespace

TEST_CASE("tp 2 with sequence parallel trains gpt with dropout and llama like one rank") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  // Dropout masks follow the micro-batch index, which only dp 1 shares with the single rank.
  check_like_one_rank(dir, "gpt", 2, " --set model.hidden_dropout=0.1", kSequenceParallel);
  check_like_one_rank(dir, "llama", 2, "", kSequenceParallel);
}

TEST_CASE("tp 2 with qk_layernorm trains like one rank with and without sequence parallel") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  // q/k layernorm weights see only this rank's heads: their gradients are summed over tp.
  check_like_one_rank(dir, "llama", 2, " --set model.qk_layernorm=true", "");
  check_like_one_rank(dir, "llama", 2, " --set model.qk_layernorm=true", kSequenceParallel);
}

TEST_CASE("tp 2 and tp 2 x dp 2 with attention and hidden dropout train like one rank") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  // Attention masks are drawn by global query head (llama: 2 heads of a query group per rank),
  // hidden masks under sequence parallelism by global token row, and each data-parallel rank's
  // micro-batches by their index in the global batch.
  const std::string dropout = " --set model.hidden_dropout=0.1 --set model.attention_dropout=0.1";
  for (const char* model : {"gpt", "llama"}) {
    check_like_one_rank(dir, model, 2, dropout, "");
    check_like_one_rank(dir, model, 2, dropout, kSequenceParallel);
  }
  check_like_one_rank(dir, "gpt", 4, dropout, kSequenceParallel);
}

TEST_CASE("tp 2 x pp 2 with sequence parallel dropout and full recompute trains like one rank") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  // Stages exchange this rank's token rows; recompute redraws the masks at global positions.
  check_like_one_rank(dir, "gpt", 4, " --set model.hidden_dropout=0.1",
                      std::string(kSequenceParallel) +
                          " --set parallel.pipeline_model_parallel_size=2 --set "
                          "train.recompute_granularity=full --set train.recompute_method=uniform "
                          "--set train.recompute_num_layers=1");
}

TEST_CASE("tp 2 x dp 2 with the distributed optimizer trains gpt and llama like one rank") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  for (const char* model : {"gpt", "llama"}) {
    check_like_one_rank(dir, model, 4, "", kDistributedOptimizer);
    check_like_one_rank(dir, model, 4, "", std::string(kDistributedOptimizer) + kSequenceParallel);
  }
}

TEST_CASE("a tp 2 x dp 2 distributed optimizer checkpoint resumes with the uninterrupted losses") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const std::string sets = std::string(kDistributedOptimizer) + kSequenceParallel;
  const auto full = train(dir, 4, 2, "full.jsonl", sets);
  REQUIRE_MESSAGE(full.exit_code == 0, full.output);
  const std::string ckpt = dir / "ckpt";
  const auto first =
      train(dir, 4, 2, "first.jsonl",
            sets + fmt::format(" --set train.exit_interval=5 --set checkpoint.save={} --set "
                               "checkpoint.save_interval=5",
                               ckpt));
  REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  const auto resumed =
      train(dir, 4, 2, "resumed.jsonl", sets + fmt::format(" --set checkpoint.load={}", ckpt));
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.output);
  const auto want = train_losses(dir / "full.jsonl");
  const auto got = train_losses(dir / "resumed.jsonl");
  REQUIRE(got.size() == 5);
  for (const auto& [iteration, loss] : got) {
    INFO("iteration " << iteration);
    CHECK(iteration > 5);
    CHECK(loss == doctest::Approx(want.at(iteration)).epsilon(1e-6));
  }
}

TEST_CASE("sequence parallel needs seq_length divisible by tp and is ignored at tp 1") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const auto odd = train(dir, 4, 4, "odd.jsonl", kSequenceParallel);  // 30 tokens over 4 ranks
  CHECK(odd.exit_code == 2);
  CHECK_MESSAGE(
      odd.output.find("with parallel.sequence_parallel, model.seq_length (30) must be "
                      "divisible by parallel.tensor_model_parallel_size (4)") != std::string::npos,
      odd.output);
  const auto one =
      train(dir, 1, 1, "one.jsonl", std::string(kSequenceParallel) + " --set train.train_iters=1");
  CHECK_MESSAGE(one.exit_code == 0, one.output);
  CHECK_MESSAGE(one.output.find("parallel.sequence_parallel is ignored at "
                                "tensor_model_parallel_size 1") != std::string::npos,
                one.output);
}
