// Sequence parallelism under mpirun: a tiny GPT (LayerNorm, learned positions, biases, hidden
// dropout 0.1) and a tiny Llama (RMSNorm, RoPE, SwiGLU, GQA 4 heads in 2 groups, untied) at tp 2
// with sequence_parallel give every gradient of a step equal to the tp 1 gradient's slice (once
// the replicated parameters' shares are summed, and not before) and train 10 SGD steps with the
// losses of one unsharded model, in f64 to 1e-10. B = 3, T = 6: a rank's 9 token rows cross a
// sequence boundary.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/models/gpt.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/parallel/parallel_groups.h"
#include "engine/distributed/tensor_parallel_grads.h"
#include "tests/support/lm_loss.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 61;   // labels below 61: the padding rows 61..63 are never targets
constexpr int64_t kPadded = 64;  // padded_vocab_size(61, 16, tp 2)
constexpr int64_t kB = 3, kT = 6;

Recipe recipe_of(bool llama, int64_t tp) {
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
  } else {
    t.hidden_dropout = 0.1;  // embedding and both residual branches: masks by global position
  }
  Recipe recipe = test::tiny_gpt_recipe(t);
  recipe.model.init_method_std = 0.3;  // logits far from uniform: every path carries signal
  recipe.model.seq_length = kT;
  recipe.parallel.tensor_model_parallel_size = tp;
  recipe.parallel.sequence_parallel = tp > 1;
  recipe.parallel.pipeline_model_parallel_size = 1;
  recipe.parallel.context_parallel_size = 1;
  return recipe;
}

Batch global_batch(uint64_t step) { return test::RandomLmBatch{kT, kVocab}.rows(step, 0, kB); }

// One forward/backward on the global batch: the mean token loss (every rank sees every token's
// loss: the head gathers the sequence).
double step_of(GptModel& model, uint64_t step) {
  MicroBatchContext ctx(true, 1, step, 0);
  const test::LmLoss sums = test::lm_forward(model, global_batch(step), ctx);
  test::lm_backward(model, 1.0 / sums.num_tokens, ctx);
  return sums.loss_sum / sums.num_tokens;
}

void sgd(const std::vector<Parameter*>& params, double lr) {
  for (Parameter* p : params) {
    double* v = p->main.data<double>();
    const double* g = p->grad.data<double>();
    for (int64_t i = 0; i < p->numel(); ++i) v[i] -= lr * g[i];
    p->grad.zero_();
  }
}

// Largest |got - want| over the parameter's gradient, and the largest |want|.
std::pair<double, double> grad_error(const Parameter& got, const Parameter& reference) {
  const auto g = got.grad.to_vector<double>();
  const auto w = got.partition.slice(reference.grad).to_vector<double>();
  double worst = 0, scale = 0;
  for (size_t j = 0; j < g.size(); ++j) {
    worst = std::max(worst, std::abs(g[j] - w[j]));
    scale = std::max(scale, std::abs(w[j]));
  }
  return {worst, scale};
}

// Bytes of activations one training forward on the global batch keeps for backward.
size_t saved_bytes(GptModel& model) {
  MicroBatchContext ctx(true, 1, 0, 0);
  model.forward(global_batch(0), ctx);
  return ctx.peak_saved_bytes();
}

// The point of the split: the activations saved outside the tensor-parallel blocks halve.
void check_saves_less(bool llama, const TensorParallel& group) {
  std::unique_ptr<GptModel> split, whole;
  const TensorParallel plain{group.rank, group.size, group.comm, nullptr, false};
  {
    TensorParallelScope scope(group);
    split = std::make_unique<GptModel>(recipe_of(llama, 2), kPadded);
  }
  {
    TensorParallelScope scope(plain);
    whole = std::make_unique<GptModel>(recipe_of(llama, 2), kPadded);
  }
  test::bind_standalone(split->parameters(), DType::kF64, 7);
  test::bind_standalone(whole->parameters(), DType::kF64, 7);
  const size_t with = saved_bytes(*split), without = saved_bytes(*whole);
  MESSAGE("saved activation bytes at tp 2: " << without << ", with sequence parallel " << with);
  CHECK(static_cast<double>(with) < 0.85 * static_cast<double>(without));
}

void check_matches_one_rank(bool llama, Communicator& world) {
  CAPTURE(llama);
  const Recipe recipe = recipe_of(llama, 2);
  const Topology topo = Topology::build(recipe, world.size(), world.rank());
  ParallelGroups groups = make_parallel_groups(world, topo);
  const TensorParallel group{topo.tp_rank, topo.tp, groups.tensor.get(), nullptr, true};
  REQUIRE(group.sequence_split());

  check_saves_less(llama, group);
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

  for (uint64_t step = 0; step < 10; ++step) {
    CAPTURE(step);
    const double want = step_of(reference, step);
    const double got = step_of(*sharded, step);
    CHECK(got == doctest::Approx(want).epsilon(1e-10));
    if (step == 0) {
      // Before the sum a replicated parameter holds only this rank's tokens' share.
      int64_t partial = 0;
      for (size_t i = 0; i < params.size(); ++i) {
        if (params[i]->partition.sharded()) continue;
        const auto [worst, scale] = grad_error(*params[i], *ref_params[i]);
        partial += worst > 1e-3 * scale;
      }
      // GPT: 2 norms x (weight, bias) x 2 layers + 2 row biases x 2 + final norm 2 + positions.
      CHECK(partial == (llama ? 2 * 2 + 1 : 2 * 4 + 2 * 2 + 2 + 1));
    }
    all_reduce_tensor_parallel_grads(params, group);
    for (size_t i = 0; i < params.size(); ++i) {
      CAPTURE(params[i]->name);
      const auto [worst, scale] = grad_error(*params[i], *ref_params[i]);
      CHECK(scale > 0);
      CHECK(worst <= 1e-10 * scale);
    }
    sgd(ref_params, 0.5);
    sgd(params, 0.5);
  }
}

}  // namespace

TEST_CASE("tp 2 with sequence parallel gpt and llama train 10 steps like one rank") {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        2, "tp 2 with sequence parallel gpt and llama train 10 steps like one rank");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto world = make_world_communicator();
  world->set_timeout(120);
  for (bool llama : {false, true}) check_matches_one_rank(llama, *world);
}

}  // namespace me
