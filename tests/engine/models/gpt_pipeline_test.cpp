// Pipeline parallelism under mpirun, in f64: a tiny GPT (tied embeddings) and a tiny Llama
// (untied, RoPE, RMSNorm, SwiGLU) split over pipeline stages (1F1B, interleaved, uneven first and
// last stages, with tensor and data parallelism) run the PipelineSchedule for 3 SGD steps: the
// loss of each step equals one whole model's on the same global batch, and after the first step
// every gradient, gathered by name (tp slices), equals the whole model's to 1e-10 relative; the
// two copies of the tied embedding agree, and the gradient norm counts them once.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "engine/models/gpt.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/distributed/grad_norm.h"
#include "engine/parallel/parallel_groups.h"
#include "engine/distributed/pipeline_grads.h"
#include "engine/distributed/pipeline_schedule.h"
#include "tests/support/lm_loss.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 61;
constexpr int64_t kPadded = 64;
constexpr int64_t kRows = 8, kT = 6;  // the global batch: 8 micro-batches of one row

struct Layout {
  int64_t layers, tp, pp;
  std::optional<int64_t> per_virtual, first, last;
  bool llama = false;
};

Recipe recipe_of(const Layout& l, bool whole) {
  test::TinyGpt t;
  t.num_layers = l.layers;
  t.hidden_size = 16;
  t.num_attention_heads = 4;
  t.ffn_hidden_size = 24;
  if (l.llama) {
    t.num_query_groups = 2;
    t.position_embedding_type = "rope";
    t.normalization = "RMSNorm";
    t.swiglu = true;
    t.add_bias_linear = false;
    t.untie = true;
  }
  Recipe recipe = test::tiny_gpt_recipe(t);
  recipe.model.seq_length = kT;  // the rows the test feeds: what the stages exchange
  recipe.model.init_method_std = 0.3;
  recipe.parallel.tensor_model_parallel_size = whole ? 1 : l.tp;
  recipe.parallel.pipeline_model_parallel_size = whole ? 1 : l.pp;
  recipe.parallel.context_parallel_size = 1;
  if (!whole) {
    recipe.parallel.num_layers_per_virtual_pipeline_stage = l.per_virtual;
    recipe.parallel.decoder_first_pipeline_num_layers = l.first;
    recipe.parallel.decoder_last_pipeline_num_layers = l.last;
  }
  return recipe;
}

Batch row(uint64_t step, int64_t r) { return test::RandomLmBatch{kT, kVocab}.rows(step, r, 1); }

double global_tokens(uint64_t step) {
  double n = 0;
  for (int64_t r = 0; r < kRows; ++r) {
    for (float m : row(step, r).at("loss_mask").to_vector<float>()) n += m;
  }
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

const Parameter& by_name(const std::vector<Parameter*>& params, const std::string& name) {
  const auto it = std::find_if(params.begin(), params.end(),
                               [&](const Parameter* p) { return p->name == name; });
  REQUIRE_MESSAGE(it != params.end(), "no parameter " << name);
  return **it;
}

void check_matches_one_rank(const Layout& layout, Communicator& world) {
  CAPTURE(layout.tp);
  CAPTURE(layout.pp);
  CAPTURE(layout.llama);
  const Recipe recipe = recipe_of(layout, false);
  const Topology topo = Topology::build(recipe, world.size(), world.rank());
  ParallelGroups groups = make_parallel_groups(world, topo);
  const TensorParallel tp{topo.tp_rank, topo.tp, groups.tensor.get()};
  const PipelineStage stage = PipelineStage::of(PipelineLayout::of(recipe), topo.pp_rank);

  GptModel whole(recipe_of(layout, true), kPadded);
  std::unique_ptr<GptModel> model;
  {
    TensorParallelScope tp_scope(tp);
    PipelineStageScope stage_scope(stage);
    model = std::make_unique<GptModel>(recipe, kPadded);
  }
  const auto ref = whole.parameters();
  const auto params = model->parameters();
  test::bind_standalone(ref, DType::kF64, 7);
  test::bind_standalone(params, DType::kF64, 7);
  int64_t layer_params = 0;
  for (const Parameter* p : params) {
    CAPTURE(p->name);
    const Parameter& r = by_name(ref, p->name);
    CHECK(p->main.to_vector<double>() == p->partition.slice(r.main).to_vector<double>());
    layer_params += p->name.rfind("decoder.layers.", 0) == 0;
  }
  const int64_t per_layer = layout.llama ? 6 : 12;
  CHECK(layer_params == per_layer * PipelineLayout::of(recipe).layers_on_rank(topo.pp_rank));

  PipelineSchedule schedule(*model, stage, *groups.pipeline, nullptr);
  const int64_t microbatches = kRows / topo.dp;
  for (uint64_t step = 0; step < 3; ++step) {
    CAPTURE(step);
    const double tokens = global_tokens(step);
    double want = 0;
    for (int64_t r = 0; r < kRows; ++r) {
      MicroBatchContext ctx(true, 1, step, static_cast<uint64_t>(r));
      want += test::lm_forward(whole, row(step, r), ctx).loss_sum;
      test::lm_backward(whole, 1.0 / tokens, ctx);
    }
    PipelineStep run;
    run.num_microbatches = microbatches;
    // Micro-batch m of data-parallel rank d is row m * dp + d (Megatron's sampler).
    run.batch = [&](int64_t m) { return row(step, m * topo.dp + topo.dp_rank); };
    run.context = [&](int64_t m) {
      return MicroBatchContext(true, 1, step, static_cast<uint64_t>(m * topo.dp + topo.dp_rank));
    };
    double got = 0;
    run.after_forward = [&](MicroBatchContext& ctx) {
      got += test::lm_loss_of(ctx).loss_sum;
      ctx.set_loss_grad("lm loss", 1.0 / tokens);
    };
    schedule.run(run);
    groups.pipeline->all_reduce_sum(&got, 1);
    groups.data->all_reduce_sum(&got, 1);
    CHECK(got / tokens == doctest::Approx(want / tokens).epsilon(1e-10));
    all_reduce_tied_grads(params, {groups.embedding.get(), nullptr});
    for (Parameter* p : params) groups.data->all_reduce_sum(p->grad.data<double>(), p->numel());
    if (step == 0) {
      double ref_squares = 0;
      for (const Parameter* r : ref) {
        for (double g : r->grad.to_vector<double>()) ref_squares += g * g;
      }
      CHECK(global_grad_norm({{params}}, tp, *groups.pipeline) ==
            doctest::Approx(std::sqrt(ref_squares)).epsilon(1e-10));
      for (const Parameter* p : params) {
        CAPTURE(p->name);
        const auto g = p->grad.to_vector<double>();
        const auto w = p->partition.slice(by_name(ref, p->name).grad).to_vector<double>();
        double worst = 0, scale = 0;
        for (size_t j = 0; j < g.size(); ++j) {
          worst = std::max(worst, std::abs(g[j] - w[j]));
          scale = std::max(scale, std::abs(w[j]));
        }
        CHECK(scale > 0);
        CHECK(worst <= 1e-10 * scale);
      }
    }
    sgd(ref, 0.5);
    sgd(params, 0.5);
  }
}

void run_case(int ranks, const char* name, const std::vector<Layout>& layouts) {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(ranks, name);
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto world = make_world_communicator();
  world->set_timeout(120);
  for (const Layout& layout : layouts) check_matches_one_rank(layout, *world);
}

}  // namespace

TEST_CASE("pp 2 1F1B interleaved and uneven stages train 3 steps like one rank") {
  run_case(2, "pp 2 1F1B interleaved and uneven stages train 3 steps like one rank",
           {{4, 1, 2},
            {4, 1, 2, 1},
            {4, 1, 2, std::nullopt, 3, 1},
            {5, 1, 2, std::nullopt, 1},
            {4, 1, 2, 1, std::nullopt, std::nullopt, true}});
}

TEST_CASE("tp 2 x pp 2 and pp 4 interleaved train 3 steps like one rank") {
  run_case(4, "tp 2 x pp 2 and pp 4 interleaved train 3 steps like one rank",
           {{4, 2, 2}, {4, 2, 2, std::nullopt, std::nullopt, std::nullopt, true}, {8, 1, 4, 1}});
}

TEST_CASE("tp 2 x pp 2 x dp 2 trains 3 steps like one rank") {
  run_case(8, "tp 2 x pp 2 x dp 2 trains 3 steps like one rank", {{4, 2, 2, 1}});
}

}  // namespace me
