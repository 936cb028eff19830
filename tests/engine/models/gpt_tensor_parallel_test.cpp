// Tensor parallelism under mpirun: a tiny GPT and a tiny Llama (GQA 4 heads in 2 groups, SwiGLU,
// RoPE, untied) at tp 2 and at tp 2 x dp 2 start as slices of the tp 1 init, give every
// gradient of one step equal to the tp 1 gradient's slice, and train 10 SGD steps with the same
// losses as one unsharded model on the same global batch.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/models/gpt.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/parallel/parallel_groups.h"
#include "tests/support/lm_loss.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 61;     // labels below 61: the padding rows 61..63 are never targets
constexpr int64_t kPadded = 64;    // padded_vocab_size(61, 16, tp 2)
constexpr int64_t kB = 4, kT = 6;  // the global batch

test::TinyGpt tiny(bool llama) {
  test::TinyGpt t;
  t.num_layers = 2;
  t.hidden_size = 16;
  t.num_attention_heads = 4;
  t.ffn_hidden_size = 24;
  if (llama) {
    t.num_query_groups = 2;
    t.position_embedding_type = "rope";
    t.normalization = "RMSNorm";
    t.swiglu = true;
    t.add_bias_linear = false;
    t.untie = true;
  }
  return t;
}

Recipe recipe_of(bool llama, int64_t tp) {
  Recipe recipe = test::tiny_gpt_recipe(tiny(llama));
  recipe.model.init_method_std = 0.3;  // logits far from uniform: every path carries signal
  recipe.parallel.tensor_model_parallel_size = tp;
  recipe.parallel.pipeline_model_parallel_size = 1;
  recipe.parallel.context_parallel_size = 1;
  return recipe;
}

// Rows [first, first + rows) of a fixed global batch.
Batch batch_rows(uint64_t step, int64_t first, int64_t rows) {
  return test::RandomLmBatch{kT, kVocab}.rows(step, first, rows);
}

double global_tokens(uint64_t step) {
  const Tensor mask = batch_rows(step, 0, kB).at("loss_mask");
  double n = 0;
  for (float m : mask.to_vector<float>()) n += m;
  return n;
}

void sgd(const std::vector<Parameter*>& params, double lr) {
  for (Parameter* p : params) {
    double* v = p->main.data<double>();
    const double* g = p->grad.data<double>();
    for (int64_t i = 0; i < p->numel(); ++i) v[i] -= lr * g[i];
    p->grad.zero_();
  }
}

// One step of the unsharded model on the whole global batch: the mean token loss.
double reference_step(GptModel& model, uint64_t step) {
  MicroBatchContext ctx(true, 1, step, 0);
  const test::LmLoss sums = test::lm_forward(model, batch_rows(step, 0, kB), ctx);
  test::lm_backward(model, 1.0 / sums.num_tokens, ctx);
  return sums.loss_sum / sums.num_tokens;
}

// One step of this rank's shard on its data-parallel rows; gradients summed over dp.
double sharded_step(GptModel& model, uint64_t step, const Topology& topo, Communicator& dp) {
  const int64_t rows = kB / topo.dp;
  MicroBatchContext ctx(true, 1, step, 0);
  const test::LmLoss sums =
      test::lm_forward(model, batch_rows(step, topo.dp_rank * rows, rows), ctx);
  test::lm_backward(model, 1.0 / global_tokens(step), ctx);
  for (Parameter* p : model.parameters()) dp.all_reduce_sum(p->grad.data<double>(), p->numel());
  double loss_sum = sums.loss_sum;
  dp.all_reduce_sum(&loss_sum, 1);
  return loss_sum / global_tokens(step);
}

void check_matches_one_rank(bool llama, int64_t tp, Communicator& world) {
  CAPTURE(llama);
  const Recipe recipe = recipe_of(llama, tp);
  const Topology topo = Topology::build(recipe, world.size(), world.rank());
  ParallelGroups groups = make_parallel_groups(world, topo);
  const TensorParallel group{topo.tp_rank, topo.tp, groups.tensor.get()};

  GptModel reference(recipe_of(llama, 1), kPadded);
  std::unique_ptr<GptModel> sharded;
  {
    TensorParallelScope scope(group);
    sharded = std::make_unique<GptModel>(recipe, kPadded);
  }
  const auto ref_params = reference.parameters();
  const auto params = sharded->parameters();
  REQUIRE(params.size() == ref_params.size());
  test::bind_standalone(ref_params, DType::kF64, 7);
  test::bind_standalone(params, DType::kF64, 7);
  int64_t sharded_count = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    CAPTURE(params[i]->name);
    REQUIRE(params[i]->full_shape() == ref_params[i]->shape);
    sharded_count += params[i]->partition.sharded();
    const auto want = params[i]->partition.slice(ref_params[i]->main).to_vector<double>();
    CHECK(params[i]->main.to_vector<double>() == want);  // the init is the slice, bit for bit
  }
  // Per layer qkv, proj, fc1, fc2 (+ qkv and fc1 biases for GPT); word table; output_layer.
  CHECK(sharded_count == (llama ? 2 * 4 + 2 : 2 * 6 + 1));

  for (uint64_t step = 0; step < 10; ++step) {
    CAPTURE(step);
    const double want = reference_step(reference, step);
    const double got = sharded_step(*sharded, step, topo, *groups.data);
    CHECK(got == doctest::Approx(want).epsilon(1e-10));
    if (step == 0 || step == 9) {
      for (size_t i = 0; i < params.size(); ++i) {
        CAPTURE(params[i]->name);
        const auto g = params[i]->grad.to_vector<double>();
        const auto w = params[i]->partition.slice(ref_params[i]->grad).to_vector<double>();
        double worst = 0, scale = 0;
        for (size_t j = 0; j < g.size(); ++j) {
          worst = std::max(worst, std::abs(g[j] - w[j]));
          scale = std::max(scale, std::abs(w[j]));
        }
        CHECK(scale > 0);
        CHECK(worst <= 1e-10 * scale);
      }
    }
    sgd(ref_params, 0.5);
    sgd(params, 0.5);
  }
}

void run_case(int ranks, const char* name, int64_t tp) {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(ranks, name);
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto world = make_world_communicator();
  world->set_timeout(120);
  for (bool llama : {false, true}) check_matches_one_rank(llama, tp, *world);
}

}  // namespace

TEST_CASE("tp 2 gpt and llama train 10 steps like one rank") {
  run_case(2, "tp 2 gpt and llama train 10 steps like one rank", 2);
}

TEST_CASE("tp 2 x dp 2 gpt and llama train 10 steps like one rank") {
  run_case(4, "tp 2 x dp 2 gpt and llama train 10 steps like one rank", 2);
}

}  // namespace me
