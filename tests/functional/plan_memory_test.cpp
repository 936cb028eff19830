// `megatron-engine plan --json` against real runs: tiny GPTs train 2 steps on the CPU on 1 rank,
// dp 2 with the distributed optimizer, tp 2 (with and without sequence parallelism), pp 2 (1F1B,
// 4 micro-batches; also with dropout), with full recompute, with a hybrid layer pattern (*-*-, on
// 1 rank and pp 2) and a Llama shape at pp 2, and each rank's measured peak (the tensor
// allocator's high-water mark, logged at exit) must be its pipeline rank's planned total within
// kBound.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/mpi_launch.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

// 4 layers, 64 wide, 128 tokens a micro-batch, 4 micro-batches at dp 1; vocabulary 500 padded to
// 512 (the logits are the largest transient of one rank).
constexpr const char* kRecipe = R"(model: {num_layers: 4, hidden_size: 64, num_attention_heads: 4,
  seq_length: 64, max_position_embeddings: 64, hidden_dropout: 0.0, attention_dropout: 0.0}
data: {mock_data: true}
tokenizer: {vocab_size: 500}
train: {micro_batch_size: 2, global_batch_size: 8, train_iters: 2, eval_iters: 0}
optimizer: {lr: 0.005}
logging: {log_interval: 1}
)";

// Observed within 0.05 % (a few hundred to ~1600 bytes of 2.5-6 MB, always under the measurement).
// What the plan leaves out is bookkeeping of fixed size, not per token or parameter: Adam's
// update-chunk table (~1 KB), the f64 buffer of gradients summed over tensor-parallel ranks, a
// loss scalar or two. So the bound is relative to tiny runs and shrinks with the model.
constexpr double kBound = 0.002;

// Each rank's peak bytes by pipeline rank, from the trainer's exit line.
std::map<int, std::vector<double>> measured_peaks(const std::string& output) {
  static const std::regex line(
      R"(rank \d+/\d+ \(tp \d+/\d+, cp \d+/\d+, dp \d+/\d+, pp (\d+)/\d+\): peak memory on cpu: )"
      R"([\d.]+ MiB in tensors \((\d+) bytes\))");
  std::map<int, std::vector<double>> out;
  for (auto it = std::sregex_iterator(output.begin(), output.end(), line);
       it != std::sregex_iterator(); ++it) {
    out[std::stoi((*it)[1])].push_back(std::stod((*it)[2]));
  }
  return out;
}

nlohmann::json plan_json(const std::string& output) {
  const size_t begin = output.find('{');
  REQUIRE_MESSAGE(begin != std::string::npos, output);
  return nlohmann::json::parse(output.substr(begin));
}

}  // namespace

TEST_CASE("plan peak memory per rank agrees with measured cpu runs") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const struct {
    const char* name;
    int ranks;
    const char* sets;
  } runs[] = {
      {"1 rank", 1, ""},
      {"dp 2 distributed optimizer", 2, "--set parallel.use_distributed_optimizer=true"},
      {"tp 2", 2, "--set parallel.tensor_model_parallel_size=2"},
      {"tp 2 sequence parallel", 2,
       "--set parallel.tensor_model_parallel_size=2 --set parallel.sequence_parallel=true"},
      {"pp 2 1F1B 4 micro-batches", 2, "--set parallel.pipeline_model_parallel_size=2"},
      {"pp 2 with dropout", 2,
       "--set parallel.pipeline_model_parallel_size=2 --set model.hidden_dropout=0.1 --set "
       "model.attention_dropout=0.1"},
      {"full recompute", 1,
       "--set train.recompute_granularity=full --set train.recompute_method=uniform --set "
       "train.recompute_num_layers=1"},
      // Attention-only and MLP-only layers, each reporting its own bytes.
      {"hybrid *-*-", 1, "--set 'model.hybrid_override_pattern=\"*-*-\"'"},
      {"hybrid *-*- pp 2", 2,
       "--set 'model.hybrid_override_pattern=\"*-*-\"' --set "
       "parallel.pipeline_model_parallel_size=2"},
      // The first stages peak in an MLP's fc1 backward: with SwiGLU, and under sequence
      // parallelism (its gathered input and whole dx) with a narrow MLP.
      {"tp 2 sequence parallel x pp 2, ffn 64", 4,
       "--set parallel.tensor_model_parallel_size=2 --set parallel.sequence_parallel=true --set "
       "parallel.pipeline_model_parallel_size=2 --set model.ffn_hidden_size=64"},
      {"llama shape pp 2", 2,
       "--set model.normalization=RMSNorm --set model.swiglu=true --set model.num_query_groups=2 "
       "--set model.group_query_attention=true --set model.position_embedding_type=rope --set "
       "model.untie_embeddings_and_output_weights=true --set model.add_bias_linear=false --set "
       "parallel.pipeline_model_parallel_size=2"},
  };
  for (const auto& run : runs) {
    INFO("run: " << std::string(run.name));
    const auto plan = run_engine(fmt::format("plan --json --recipe {} --world-size {} {}",
                                             dir / "r.yaml", run.ranks, run.sets));
    REQUIRE_MESSAGE(plan.exit_code == 0, plan.output);
    const nlohmann::json stages = plan_json(plan.output)["memory"]["per_pipeline_rank"];
    const auto train = run_engine_on_ranks(
        run.ranks, fmt::format("train --recipe {} {}", dir / "r.yaml", run.sets));
    REQUIRE_MESSAGE(train.exit_code == 0, train.output);
    const auto peaks = measured_peaks(train.output);
    int ranks_seen = 0;
    for (const auto& [pp_rank, bytes] : peaks) {
      REQUIRE(pp_rank < static_cast<int>(stages.size()));
      const double planned = stages[pp_rank]["total_bytes"].get<double>();
      for (double measured : bytes) {
        ++ranks_seen;
        INFO("pipeline rank " << pp_rank << ": planned " << planned << " measured " << measured);
        CHECK(std::abs(planned - measured) / measured < kBound);
      }
    }
    CHECK_MESSAGE(ranks_seen == run.ranks, train.output);
  }
}
