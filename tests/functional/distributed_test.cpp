// Data parallelism end to end under mpirun: dp 2 and 4, with and without the distributed
// optimizer, train like one rank for 10 steps; a stalled or killed rank ends the job in time.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>

#include "tests/functional/metrics.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

// Global batch 8 = 4 micro-batches of 2 on one rank, 2 x 2 on two ranks, 1 x 2 on four.
constexpr const char* kRecipe = R"(model: {num_layers: 2, hidden_size: 32, num_attention_heads: 2,
  seq_length: 32, max_position_embeddings: 32, hidden_dropout: 0.0, attention_dropout: 0.0}
data: {mock_data: true}
tokenizer: {vocab_size: 200}
train: {micro_batch_size: 2, global_batch_size: 8, train_iters: 10, eval_iters: 0}
optimizer: {lr: 0.005}
parallel: {ddp_bucket_size: 6000}
logging: {log_interval: 1}
)";

void check_same_losses(const std::map<int64_t, double>& a, const std::map<int64_t, double>& b) {
  REQUIRE(a.size() == 10);
  REQUIRE(b.size() == 10);
  for (const auto& [iteration, loss] : a) {
    INFO("iteration " << iteration);
    CHECK(b.at(iteration) == doctest::Approx(loss).epsilon(1e-6));
  }
}

}  // namespace

TEST_CASE("dp 2 and 4 with and without the distributed optimizer match one rank for 10 steps") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  for (const char* optimizer : {"adam", "sgd"}) {
    CAPTURE(optimizer);
    // SGD with momentum needs a far larger LR than Adam to move in 10 steps.
    const std::string opt = fmt::format("--set optimizer.optimizer={} --set optimizer.lr={}",
                                        optimizer, optimizer == std::string("sgd") ? 1.0 : 0.005);
    const auto one = train_on_ranks(dir, 1, "one.jsonl", opt);
    REQUIRE_MESSAGE(one.exit_code == 0, one.output);
    const auto reference = train_losses(dir / "one.jsonl");
    REQUIRE(reference.size() == 10);
    CHECK(reference.rbegin()->second < reference.begin()->second - 0.15);  // it trained
    for (int ranks : {2, 4}) {
      for (bool distributed : {false, true}) {
        if (std::string(optimizer) == "sgd" && (ranks == 4 || !distributed)) continue;
        CAPTURE(ranks);
        CAPTURE(distributed);
        const std::string metrics = fmt::format("dp{}_{}.jsonl", ranks, distributed);
        const auto run = train_on_ranks(
            dir, ranks, metrics,
            fmt::format("{} --set parallel.use_distributed_optimizer={}", opt, distributed));
        REQUIRE_MESSAGE(run.exit_code == 0, run.output);
        check_same_losses(reference, train_losses(dir / metrics));
      }
    }
  }
}

TEST_CASE("a stalled rank ends the job within the timeout naming it and the collective") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const auto start = std::chrono::steady_clock::now();
  // 0.05 minutes = 3 s.
  const auto run =
      train_on_ranks(dir, 3, "m.jsonl",
                     "--set train.global_batch_size=6 --set "
                     "parallel.distributed_timeout_minutes=0.05 --set "
                     "train.inject_stall_at_iteration=3 --set train.inject_fault_rank=1");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK_MESSAGE(run.exit_code == 6, run.output);
  CHECK(seconds < 60);
  CHECK_MESSAGE(run.output.find("did not complete within 3 s") != std::string::npos, run.output);
  CHECK_MESSAGE(run.output.find("rank(s) 1 did not arrive") != std::string::npos, run.output);
  // Rank 1 stalled at the start of step 3 and so last completed a collective of step 2.
  CHECK_MESSAGE(
      run.output.find("[rank 1: in step 3, last completed collective #") != std::string::npos,
      run.output);
  CHECK(run.output.find("in step 2]") != std::string::npos);
}

TEST_CASE("a rank killed mid-run ends the whole job promptly") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const auto start = std::chrono::steady_clock::now();
  const auto run =
      train_on_ranks(dir, 2, "m.jsonl",
                     "--set parallel.distributed_timeout_minutes=0.5 --set "
                     "train.inject_kill_at_iteration=3 --set train.inject_fault_rank=1");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK_MESSAGE(run.exit_code != 0, run.output);
  CHECK(seconds < 60);
  // mpirun notices the death first ("process rank 1 ... exited on signal 9"); should it not, the
  // watchdog names rank 1 after 30 s.
  const bool named = run.output.find("process rank 1") != std::string::npos ||
                     run.output.find("rank(s) 1 did not arrive") != std::string::npos;
  CHECK_MESSAGE(named, run.output);
}

TEST_CASE("distributed-optimizer checkpoints resume on any dp size with or without sharding") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const auto full =
      train_on_ranks(dir, 2, "full.jsonl", "--set parallel.use_distributed_optimizer=true");
  REQUIRE_MESSAGE(full.exit_code == 0, full.output);
  const auto reference = train_losses(dir / "full.jsonl");
  for (int saved_ranks : {2, 4}) {
    CAPTURE(saved_ranks);
    const std::string ckpt = dir / fmt::format("ckpt{}", saved_ranks);
    const auto first =
        train_on_ranks(dir, saved_ranks, fmt::format("first{}.jsonl", saved_ranks),
                       fmt::format("--set parallel.use_distributed_optimizer=true --set "
                                   "train.exit_interval=5 --set checkpoint.save={} --set "
                                   "checkpoint.save_interval=5",
                                   ckpt));
    REQUIRE_MESSAGE(first.exit_code == 0, first.output);
    const std::string manifest = ckpt + "/iter_0000005/manifest.yaml";
    std::ifstream in(manifest);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find("use_distributed_optimizer: true") != std::string::npos);
    CHECK(text.find(fmt::format("optim_tp00_pp000_dp{:03d}.h5", saved_ranks - 1)) !=
          std::string::npos);
    // Same layout (2 -> 2), 2 -> 4, 4 -> 1, and sharded -> whole state (2 -> 2 without it).
    std::vector<std::pair<int, bool>> targets = {{1, false}};
    if (saved_ranks == 2) targets = {{2, true}, {4, true}, {2, false}};
    for (const auto& [ranks, distributed] : targets) {
      CAPTURE(ranks);
      CAPTURE(distributed);
      const std::string metrics =
          fmt::format("resume{}_{}_{}.jsonl", saved_ranks, ranks, distributed);
      const auto resumed = train_on_ranks(
          dir, ranks, metrics,
          fmt::format("--set parallel.use_distributed_optimizer={} --set checkpoint.load={}",
                      distributed, ckpt));
      REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.output);
      const auto losses = train_losses(dir / metrics);
      REQUIRE(losses.size() == 5);
      for (const auto& [iteration, loss] : losses) {
        INFO("iteration " << iteration);
        CHECK(loss == doctest::Approx(reference.at(iteration)).epsilon(1e-6));
      }
    }
  }
  // The state matters: resuming without it leaves the uninterrupted run's losses.
  const auto fresh =
      train_on_ranks(dir, 2, "fresh.jsonl",
                     fmt::format("--set parallel.use_distributed_optimizer=true --set "
                                 "checkpoint.load={} --set checkpoint.no_load_optim=true",
                                 dir / "ckpt2"));
  REQUIRE_MESSAGE(fresh.exit_code == 0, fresh.output);
  CHECK(std::abs(train_losses(dir / "fresh.jsonl").at(10) - reference.at(10)) > 1e-4);
}

TEST_CASE("log_straggler names the slowest and the fastest of the ranks every log interval") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const auto run = train_on_ranks(dir, 2, "m.jsonl", "--set logging.log_straggler=true");
  REQUIRE_MESSAGE(run.exit_code == 0, run.output);
  size_t lines = 0;
  for (size_t at = run.output.find("straggler (compute ms/iteration) | slowest: rank ");
       at != std::string::npos; at = run.output.find("straggler (compute", at + 1)) {
    ++lines;
    const std::string line = run.output.substr(at, run.output.find('\n', at) - at);
    // With two ranks and one name per end, one rank is the slowest and the other the fastest.
    const bool zero_slow = line.find("slowest: rank 0 ") != std::string::npos;
    CHECK_MESSAGE(
        line.find(zero_slow ? "fastest: rank 1 " : "fastest: rank 0 ") != std::string::npos, line);
  }
  CHECK(lines == 10);  // log_interval 1, 10 iterations, logged once (by the last rank)
}
