// A toy model of two streams and two named losses, for the model contract: streams a and b each
// get their own embedding and layer stack, so both (and their gradients) cross every pipeline
// boundary; the last chunk adds a per-token "lm loss" on a and a per-sample "sample loss"
// (weight 0.5) on a + b at each row's first position.
//   - the gradients of the weighted objective match float64 finite differences;
//   - under mpirun, pp 2 (plain and interleaved) on 2 ranks and pp 4 and pp 2 x dp 2 on 4 ranks
//     give the losses and every gradient of one rank (1e-10 relative, f64).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "engine/distributed/pipeline_schedule.h"
#include "engine/models/model.h"
#include "engine/models/transformer_config.h"
#include "engine/nn/embedding.h"
#include "engine/nn/layer_stack.h"
#include "engine/nn/lm_head.h"
#include "engine/parallel/parallel_groups.h"
#include "engine/train/loss_totals.h"
#include "kernels/elementwise.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 32;
constexpr int64_t kT = 5, kC = 16;

class TwoStreamModel final : public Model {
 public:
  explicit TwoStreamModel(const Recipe& recipe)
      : Model(""),
        stage_(PipelineStage::current() ? *PipelineStage::current()
                                        : PipelineStage::whole(recipe.model.num_layers)),
        micro_batch_size_(recipe.train.micro_batch_size) {
    const EmbeddingConfig embedding = embedding_config(recipe, kVocab);
    const LayerConfig layers = layer_config(recipe);
    if (stage_.first()) {
      embedding_a_.emplace("embedding_a", embedding);
      embedding_b_.emplace("embedding_b", embedding);
      add_child(*embedding_a_);
      add_child(*embedding_b_);
    }
    auto make = [&](int64_t, const std::string& name) {
      return LayerRegistry::instance().create("transformer_layer", name, layers);
    };
    stack_a_ = std::make_unique<LayerStack>("a.layers", stage_.chunks, FullRecompute{}, make);
    stack_b_ = std::make_unique<LayerStack>("b.layers", stage_.chunks, FullRecompute{}, make);
    add_child(*stack_a_);
    add_child(*stack_b_);
    if (!stage_.last()) return;
    norm_a_ = make_norm("a.final_norm", layers.norm);
    norm_b_ = make_norm("b.final_norm", layers.norm);
    LmHeadConfig head = lm_head_config(recipe, kVocab);
    head_a_.emplace("output_a", head, nullptr);
    head.loss = "sample loss";
    head_b_.emplace("output_b", head, nullptr);
    for (Module* m :
         std::initializer_list<Module*>{norm_a_.get(), norm_b_.get(), &*head_a_, &*head_b_}) {
      add_child(*m);
    }
  }

  std::vector<TensorSpec> inputs() const override { return {}; }
  std::string dataset_type() const override { return "gpt"; }
  std::vector<LossSpec> losses() const override {
    return {{"lm loss", LossNormalization::kPerToken, 1.0},
            {"sample loss", LossNormalization::kPerSample, 0.5}};
  }
  int64_t num_chunks() const override { return static_cast<int64_t>(stage_.chunks.size()); }
  // A test double: never planned.
  ChunkCost chunk_cost(int64_t, const CostQuery&) const override { return {}; }
  std::vector<TensorSpec> chunk_inputs(int64_t chunk) const override {
    return stage_.holds_embedding(chunk) ? std::vector<TensorSpec>{} : streams();
  }
  std::vector<TensorSpec> chunk_outputs(int64_t chunk) const override {
    return stage_.holds_loss(chunk) ? std::vector<TensorSpec>{} : streams();
  }

  NamedTensors forward_chunk(int64_t chunk, const Batch& batch, const NamedTensors& inputs,
                             MicroBatchContext& ctx) override {
    Tensor a, b;
    if (stage_.holds_embedding(chunk)) {
      a = embedding_a_->forward(batch.at("tokens"), batch.at("position_ids"), ctx);
      b = embedding_b_->forward(batch.at("tokens"), batch.at("position_ids"), ctx);
    } else {
      a = inputs.at("a");
      b = inputs.at("b");
    }
    ctx.set_sequence({as_int32(batch.at("position_ids"))});
    a = stack_a_->forward(static_cast<size_t>(chunk), a, ctx);
    b = stack_b_->forward(static_cast<size_t>(chunk), b, ctx);
    if (!stage_.holds_loss(chunk)) return {{{"a", a}, {"b", b}}};
    add_into(b, a);  // the sample loss reads both streams
    head_a_->forward(norm_a_->forward(a, ctx), batch.at("labels"), batch.at("loss_mask"), ctx);
    head_b_->forward(norm_b_->forward(b, ctx), batch.at("labels"), first_positions(batch), ctx);
    return {};
  }

  NamedTensors backward_chunk(int64_t chunk, const NamedTensors& output_grads,
                              MicroBatchContext& ctx) override {
    Tensor da, db;
    if (stage_.holds_loss(chunk)) {
      db = norm_b_->backward(head_b_->backward(ctx), ctx);
      da = norm_a_->backward(head_a_->backward(ctx), ctx);
      add_into(da, db);
    } else {
      da = output_grads.at("a");
      db = output_grads.at("b");
    }
    db = stack_b_->backward(static_cast<size_t>(chunk), db, ctx);
    da = stack_a_->backward(static_cast<size_t>(chunk), da, ctx);
    if (!stage_.holds_embedding(chunk)) return {{{"a", da}, {"b", db}}};
    embedding_b_->backward(db, ctx);
    embedding_a_->backward(da, ctx);
    return {};
  }

 private:
  std::vector<TensorSpec> streams() const {
    const Shape shape{micro_batch_size_, kT, kC};
    return {{"a", DType::kF64, shape}, {"b", DType::kF64, shape}};
  }
  // 1 at each row's first position: the sample loss counts one token per sample.
  static Tensor first_positions(const Batch& batch) {
    const Shape shape = batch.at("loss_mask").shape();
    std::vector<float> mask(static_cast<size_t>(shape[0] * shape[1]), 0.0f);
    for (int64_t r = 0; r < shape[0]; ++r) mask[static_cast<size_t>(r * shape[1])] = 1.0f;
    return Tensor::from_vector(mask, shape);
  }

  PipelineStage stage_;
  int64_t micro_batch_size_;
  std::optional<LanguageModelEmbedding> embedding_a_, embedding_b_;
  std::unique_ptr<LayerStack> stack_a_, stack_b_;
  std::unique_ptr<Layer> norm_a_, norm_b_;
  std::optional<LanguageModelHead> head_a_, head_b_;
};

Recipe toy_recipe(int64_t layers, int64_t micro_batch_size) {
  test::TinyGpt tiny;
  tiny.num_layers = layers;
  tiny.hidden_size = kC;
  tiny.max_position_embeddings = kT;
  tiny.micro_batch_size = micro_batch_size;
  Recipe recipe = test::tiny_gpt_recipe(tiny);
  recipe.model.init_method_std = 0.3;
  return recipe;
}

// Every loss of a micro-batch's context gets its gradient as the trainer sets it.
void seed_losses(const Model& model, MicroBatchContext& ctx, int64_t num_microbatches) {
  for (const LossTerm& term : ctx.losses().terms()) {
    for (const LossSpec& spec : model.losses()) {
      if (spec.name == term.name) {
        ctx.set_loss_grad(term.name, loss_gradient(spec, term, 1.0, num_microbatches, false));
      }
    }
  }
}

// The objective of one micro-batch: 1.0 * lm mean + 0.5 * sample mean.
double objective(const Model& model, const MicroBatchContext& ctx) {
  LossTotals totals(model.losses());
  totals.add(ctx.losses());
  return totals.value(0) + 0.5 * totals.value(1);
}

TEST_CASE("two named losses: the weighted objective's gradients match finite differences") {
  TwoStreamModel model(toy_recipe(2, 2));
  const auto params = model.parameters();
  test::bind_standalone(params, DType::kF64, 11);
  test::randomize_values(params, 0.3, 11);
  const Batch batch = test::RandomLmBatch{kT, kVocab}.rows(12, 0, 2);
  MicroBatchContext ctx(true, 1, 0, 0);
  model.forward(batch, ctx);
  REQUIRE(ctx.losses().terms().size() == 2);
  CHECK(ctx.losses().terms()[1].count == 2.0);  // one token per sample
  seed_losses(model, ctx, 1);
  model.backward(ctx);
  CHECK(ctx.empty());
  auto loss = [&] {
    MicroBatchContext scratch(true, 1, 0, 0);
    model.forward(batch, scratch);
    return objective(model, scratch);
  };
  // The word tables in full (most rows see no token and must get exactly no gradient), the rest
  // sampled.
  for (Parameter* p : params) {
    const bool table = p->name.find("word_embeddings") != std::string::npos;
    test::check_sampled_gradient(loss, p->value, p->grad.clone(), table ? 512 : 24, p->name);
  }
}

constexpr int64_t kRows = 8;

Batch row(uint64_t step, int64_t r) { return test::RandomLmBatch{kT, kVocab}.rows(step, r, 1); }

void check_pipeline_matches_one_rank(int64_t layers, int64_t pp, std::optional<int64_t> per_virtual,
                                     Communicator& world) {
  CAPTURE(pp);
  CAPTURE(per_virtual.value_or(0));
  Recipe recipe = toy_recipe(layers, 1);
  recipe.parallel.tensor_model_parallel_size = 1;
  recipe.parallel.context_parallel_size = 1;
  recipe.parallel.pipeline_model_parallel_size = pp;
  recipe.parallel.num_layers_per_virtual_pipeline_stage = per_virtual;
  const Topology topo = Topology::build(recipe, world.size(), world.rank());
  ParallelGroups groups = make_parallel_groups(world, topo);
  const PipelineStage stage = PipelineStage::of(PipelineLayout::of(recipe), topo.pp_rank);
  TwoStreamModel whole(toy_recipe(layers, 1));
  std::unique_ptr<TwoStreamModel> model;
  {
    PipelineStageScope scope(stage);
    model = std::make_unique<TwoStreamModel>(recipe);
  }
  test::bind_standalone(whole.parameters(), DType::kF64, 7);
  test::bind_standalone(model->parameters(), DType::kF64, 7);
  const uint64_t step = 3;
  LossTotals want(whole.losses());
  for (int64_t r = 0; r < kRows; ++r) {
    MicroBatchContext ctx(true, 1, step, static_cast<uint64_t>(r));
    whole.forward(row(step, r), ctx);
    want.add(ctx.losses());
    seed_losses(whole, ctx, kRows);
    whole.backward(ctx);
  }
  const int64_t microbatches = kRows / topo.dp;
  LossTotals got(model->losses());
  PipelineSchedule schedule(*model, stage, *groups.pipeline, nullptr);
  PipelineStep run;
  run.num_microbatches = microbatches;
  run.batch = [&](int64_t m) { return row(step, m * topo.dp + topo.dp_rank); };
  run.context = [&](int64_t m) {
    return MicroBatchContext(true, 1, step, static_cast<uint64_t>(m * topo.dp + topo.dp_rank));
  };
  run.after_forward = [&](MicroBatchContext& ctx) {
    got.add(ctx.losses());
    // Megatron's normalisation over the whole global batch, as the one-rank run has it.
    seed_losses(*model, ctx, kRows);
  };
  schedule.run(run);
  got.all_reduce(*groups.pipeline);
  got.all_reduce(*groups.data);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(got.sum(i) == doctest::Approx(want.sum(i)).epsilon(1e-12));
    CHECK(got.count(i) == want.count(i));
  }
  std::map<std::string, const Parameter*> reference;
  for (const Parameter* p : whole.parameters()) reference[p->name] = p;
  for (Parameter* p : model->parameters()) {
    CAPTURE(p->name);
    groups.data->all_reduce_sum(p->grad.data<double>(), p->numel());
    const auto g = p->grad.to_vector<double>();
    const auto w = reference.at(p->name)->grad.to_vector<double>();
    double worst = 0, scale = 0;
    for (size_t j = 0; j < g.size(); ++j) {
      worst = std::max(worst, std::abs(g[j] - w[j]));
      scale = std::max(scale, std::abs(w[j]));
    }
    CHECK(scale > 0);
    CHECK(worst <= 1e-10 * scale);
  }
}

void run_case(int ranks, const char* name,
              const std::vector<std::pair<int64_t, std::optional<int64_t>>>& layouts) {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(ranks, name);
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto world = make_world_communicator();
  world->set_timeout(120);
  for (const auto& [pp, per_virtual] : layouts) {
    check_pipeline_matches_one_rank(4, pp, per_virtual, *world);
  }
}

}  // namespace

TEST_CASE("a two-stream model on pp 2 (1F1B and interleaved) matches one rank") {
  run_case(2, "a two-stream model on pp 2 (1F1B and interleaved) matches one rank",
           {{2, std::nullopt}, {2, 1}});
}

TEST_CASE("a two-stream model on pp 4 and pp 2 x dp 2 matches one rank") {
  run_case(4, "a two-stream model on pp 4 and pp 2 x dp 2 matches one rank",
           {{4, std::nullopt}, {2, std::nullopt}});
}

}  // namespace me
