// End to end on the GPU: the megatron-engine binary trains the tiny GPT with train.device=cuda
// (fp32, dropout on) for 30 iterations, and its logged losses track a CPU run of the same recipe
// within 1e-3 relative (the devices round differently, so not bitwise); the run also evaluates
// and saves a checkpoint from device memory.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/functional/corpus.h"
#include "tests/functional/metrics.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

std::string write_recipe(const TempDir& dir, const std::string& data) {
  const std::string path = dir / "tiny.yaml";
  write_text(path, fmt::format(R"(model:
  num_layers: 2
  hidden_size: 64
  num_attention_heads: 4
  seq_length: 48
  max_position_embeddings: 48
  hidden_dropout: 0.1
  attention_dropout: 0.1
data:
  data_path: [{}]
  split: "90,10,0"
train:
  micro_batch_size: 4
  global_batch_size: 8
  train_iters: 30
  eval_interval: 15
  eval_iters: 2
  seed: 11
optimizer:
  lr: 0.003
  min_lr: 0.0003
scheduler:
  lr_decay_style: cosine
  lr_warmup_iters: 5
logging:
  log_interval: 1
)",
                               data));
  return path;
}

// Ingests the grammar corpus into DIR/corpus.h5 and writes the recipe training on it.
std::string ingest_and_write_recipe(const TempDir& dir) {
  write_text(dir / "corpus.jsonl", grammar_corpus_jsonl(600));
  const auto ingest =
      run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte --append-eod",
                             dir / "corpus.jsonl", dir / "corpus.h5"));
  REQUIRE_MESSAGE(ingest.exit_code == 0, ingest.output);
  return write_recipe(dir, dir / "corpus.h5");
}

}  // namespace

TEST_CASE("train on cuda tracks the cpu losses of the same recipe for 30 iterations") {
  me::test::gpu_device();
  TempDir dir;
  const std::string recipe = ingest_and_write_recipe(dir);

  const auto cpu = run_engine(
      fmt::format("--recipe {} --set logging.metrics_file={}", recipe, dir / "cpu.jsonl"));
  REQUIRE_MESSAGE(cpu.exit_code == 0, cpu.output);
  const auto gpu =
      run_engine(fmt::format("--recipe {} --set train.device=cuda --set logging.metrics_file={} "
                             "--set checkpoint.save={} --set checkpoint.save_interval=30",
                             recipe, dir / "gpu.jsonl", dir / "ckpt"));
  REQUIRE_MESSAGE(gpu.exit_code == 0, gpu.output);

  const auto a = train_losses(dir / "cpu.jsonl");
  const auto b = train_losses(dir / "gpu.jsonl");
  REQUIRE(a.size() == 30);
  REQUIRE(b.size() == 30);
  std::string table = "iteration  cpu loss  gpu loss\n";
  for (const auto& [iteration, loss] : a) {
    table += fmt::format("{:9}  {:.6f}  {:.6f}\n", iteration, loss, b.at(iteration));
  }
  INFO(table);
  for (const auto& [iteration, loss] : a) {
    CHECK_MESSAGE(std::abs(b.at(iteration) - loss) <= 1e-3 * std::abs(loss), "iteration ",
                  iteration);
  }
  CHECK(b.rbegin()->second < b.begin()->second - 0.5);  // it learns on the GPU too
  CHECK(std::filesystem::exists(dir / "ckpt"));
}

TEST_CASE("bf16 training with deterministic_mode repeats bitwise and starts on the cpu curve") {
  me::test::gpu_device();
  TempDir dir;
  const std::string recipe = ingest_and_write_recipe(dir);
  // Dropout off, so attention runs cuDNN's fused kernels, whose backward is the one library
  // kernel that deterministic_mode changes.
  const std::string common = fmt::format(
      "--recipe {} --set model.hidden_dropout=0.0 --set model.attention_dropout=0.0 "
      "--set train.eval_iters=0",
      recipe);
  const auto cpu =
      run_engine(fmt::format("{} --set logging.metrics_file={}", common, dir / "cpu.jsonl"));
  REQUIRE_MESSAGE(cpu.exit_code == 0, cpu.output);
  for (const char* run : {"bf16_a", "bf16_b"}) {
    const auto gpu =
        run_engine(fmt::format("{} --set train.device=cuda --set mixed_precision.bf16=true "
                               "--set train.deterministic_mode=true --set logging.metrics_file={}",
                               common, dir / (std::string(run) + ".jsonl")));
    REQUIRE_MESSAGE(gpu.exit_code == 0, gpu.output);
  }
  const auto reference = train_losses(dir / "cpu.jsonl");
  const auto a = train_losses(dir / "bf16_a.jsonl");
  const auto b = train_losses(dir / "bf16_b.jsonl");
  REQUIRE(a.size() == 30);
  CHECK(a == b);  // bitwise: the JSONL prints doubles exactly
  // The first steps, before the trajectories separate, agree to bf16's rounding of the logits.
  for (int64_t iteration = 1; iteration <= 3; ++iteration) {
    CHECK_MESSAGE(
        std::abs(a.at(iteration) - reference.at(iteration)) <= 2e-3 * reference.at(iteration),
        "iteration ", iteration, ": bf16 ", a.at(iteration), ", cpu f32 ", reference.at(iteration));
  }
  CHECK(a.rbegin()->second < a.begin()->second - 0.5);  // it learns in bf16
}

TEST_CASE("fp16 training scales the loss dynamically and learns") {
  me::test::gpu_device();
  TempDir dir;
  const std::string recipe = ingest_and_write_recipe(dir);
  // 2^40 overflows fp16 gradients for certain, so the scaler must back off (hysteresis 2: the
  // second overflow halves the scale) and the run still trains.
  const auto gpu = run_engine(
      fmt::format("--recipe {} --set train.device=cuda --set mixed_precision.fp16=true "
                  "--set mixed_precision.initial_loss_scale=1099511627776 --set train.eval_iters=0 "
                  "--set logging.metrics_file={}",
                  recipe, dir / "fp16.jsonl"));
  REQUIRE_MESSAGE(gpu.exit_code == 0, gpu.output);
  CHECK(gpu.output.find("gradients overflowed at loss scale") != std::string::npos);
  std::ifstream in(dir / "fp16.jsonl");
  std::string line;
  double last_scale = 0.0;
  int64_t skipped = 0;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    if (!record.contains("loss_scale")) continue;
    last_scale = record["loss_scale"].get<double>();
    skipped += record.value("skipped_iterations", int64_t{0});
  }
  CHECK(skipped >= 2);
  CHECK(last_scale < 1099511627776.0);
  const auto losses = train_losses(dir / "fp16.jsonl");
  REQUIRE(losses.size() == 30);
  CHECK(losses.rbegin()->second < losses.begin()->second - 0.5);
}
