// plan_memory against the trainer's own allocations (ParamBuffers and optimizer state, measured
// by the CPU allocator) and against the 1F1B schedule and recompute worked through by hand.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/core/allocator.h"
#include "engine/models/model.h"
#include "datasets/padded_vocab.h"
#include "engine/models/transformer_config.h"
#include "engine/nn/layer_norm.h"
#include "engine/nn/lm_head.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/nn/transformer_layer.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/param_buffers.h"
#include "engine/distributed/grad_reducer.h"
#include "engine/parallel/pipeline_layout.h"
#include "engine/parallel/topology.h"
#include "engine/plan/memory_plan.h"
#include "engine/plan/stage_model.h"
#include "tests/support/process.h"

using namespace me;

namespace {

// 4 micro-batches of 2 x 32 tokens at dp 1; vocabulary 200 padded to 256 (tp 1 or 2).
constexpr const char* kRecipe = R"(model: {num_layers: 4, hidden_size: 64, num_attention_heads: 4,
  seq_length: 32, max_position_embeddings: 32}
data: {mock_data: true}
tokenizer: {vocab_size: 200}
train: {micro_batch_size: 2, global_batch_size: 8, train_iters: 1}
optimizer: {lr: 0.001}
)";
constexpr double kTokens = 2 * 32;
constexpr int64_t kPadded = 256;

Recipe load(const std::vector<std::string>& sets, int64_t world_size) {
  testing::TempDir dir;
  testing::write_text(dir / "r.yaml", kRecipe);
  return load_recipe(dir / "r.yaml", sets, world_size, RecipePurpose::kPlan);
}

}  // namespace

TEST_CASE("weights gradients and optimizer state are what the trainer's buffers allocate") {
  const struct {
    std::vector<std::string> sets;
    int64_t world_size;
  } layouts[] = {{{}, 1},
                 {{"parallel.use_distributed_optimizer=true"}, 2},
                 {{"parallel.tensor_model_parallel_size=2"}, 2},
                 {{"parallel.pipeline_model_parallel_size=2", "optimizer.optimizer=sgd"}, 2},
                 {{"mixed_precision.bf16=true", "train.device=cuda"}, 1}};
  Allocator& cpu = allocator_for(Device::cpu());
  for (const auto& layout : layouts) {
    CAPTURE(layout.sets.size());
    const Recipe recipe = load(layout.sets, layout.world_size);
    const int64_t tp = recipe.parallel.tensor_model_parallel_size;
    REQUIRE(padded_vocab_size(200, recipe.model.make_vocab_size_divisible_by, tp) == kPadded);
    const MemoryPlan plan = plan_memory(recipe, kPadded);
    const PipelineLayout pipeline = PipelineLayout::of(recipe);
    REQUIRE(plan.stages.size() == static_cast<size_t>(pipeline.pp));
    const Topology topology = Topology::build(recipe, layout.world_size, 0);
    for (int64_t rank = 0; rank < pipeline.pp; ++rank) {
      CAPTURE(rank);
      const PipelineStage stage = PipelineStage::of(pipeline, rank);
      TensorParallelScope tp_scope(TensorParallel{0, tp, nullptr, nullptr, false});
      PipelineStageScope stage_scope(stage);
      const auto model = ModelRegistry::instance().create("gpt", recipe, kPadded);
      const size_t before = cpu.allocated_bytes();
      ParamBuffers buffers(model->parameters(), Device::cpu(),
                           data_parallel_layout_options(recipe, topology),
                           recipe.mixed_precision.bf16 ? DType::kBF16 : DType::kF32);
      const RankMemory& m = plan.stages[static_cast<size_t>(rank)];
      CHECK(static_cast<double>(cpu.allocated_bytes() - before) == m.weights + m.gradients);
      const int64_t shard = recipe.parallel.use_distributed_optimizer ? topology.dp : 1;
      const auto optimizer = OptimizerRegistry::instance().create(
          recipe.optimizer.optimizer, buffers, recipe, OptimizerShard{0, shard});
      double state = 0;
      for (const auto& [name, tensor] : optimizer->state_buffers()) {
        state += static_cast<double>(tensor->nbytes());
      }
      CHECK(state == m.optimizer);
    }
  }
}

namespace {

// Per token: the first chunk of pipeline rank `rank`'s model, as plan_memory builds it.
ChunkCost stage_chunk(const Recipe& recipe, int64_t rank) {
  const PipelineStage stage = PipelineStage::of(PipelineLayout::of(recipe), rank);
  const auto model =
      build_stage_model(recipe, stage, recipe.parallel.tensor_model_parallel_size, kPadded);
  return model->chunk_cost(0, cost_query(recipe));
}

}  // namespace

TEST_CASE("pipeline ranks peak with their 1F1B in-flight micro-batches") {
  // pp 2, 2 layers a stage. Rank 0 runs F0 | F1 B0 | F2 B1 | F3 B2 | B3, one exchange between
  // steps: two micro-batches are held when B0 starts, each with its layers, token ids and
  // positions, and F1's output (a hidden state, C * 4 per token) waits for the exchange after the
  // step; the busiest backward moment is a layer's MLP backward (its incoming gradient, B0's
  // input, counted there). Rank 1 runs F0 B0 | F1 B1 | ...: one micro-batch, with the head, held
  // at B0; then either the head's backward or, once the head's buffers are gone, the top layer's
  // MLP backward is the larger transient.
  const Recipe recipe = load({"parallel.pipeline_model_parallel_size=2"}, 2);
  const MemoryPlan plan = plan_memory(recipe, kPadded);
  REQUIRE(plan.stages.size() == 2);
  const RankMemory& first = plan.stages[0];
  const RankMemory& last = plan.stages[1];
  const ChunkCost c0 = stage_chunk(recipe, 0), c1 = stage_chunk(recipe, 1);
  // The batch a stage keeps: positions, and the embedding's token ids or the head's labels.
  CHECK(c0.batch == 8);
  CHECK(c1.batch == 8);
  const CostQuery q = cost_query(recipe);
  const ModuleCost layer = TransformerLayer("l", layer_config(recipe)).cost(q);
  CHECK(c0.modules.saved == 2 * layer.saved);
  CHECK(c0.modules.backward == layer.backward);
  CHECK(first.activations == doctest::Approx(2 * kTokens * (c0.modules.saved + c0.batch)));
  CHECK(first.workspace == doctest::Approx(kTokens * (c0.modules.backward + 64 * 4)));
  const ModuleCost norm = LayerNorm("n", norm_config(recipe, 64)).cost(q);
  const ModuleCost head = LanguageModelHead("h", lm_head_config(recipe, kPadded), nullptr).cost(q);
  const double head_saved = norm.saved + head.saved;
  CHECK(c1.modules.saved == 2 * layer.saved + head_saved);
  CHECK(last.activations == doctest::Approx(kTokens * (c1.modules.saved + c1.batch)));
  CHECK(last.workspace ==
        doctest::Approx(kTokens * std::max(head.backward, layer.backward - head_saved)));
  CHECK(plan.pipeline_rank == (first.total() >= last.total() ? 0 : 1));
  CHECK(plan.total() == std::max(first.total(), last.total()));

  // One micro-batch per step: rank 0 holds one.
  const Recipe single =
      load({"parallel.pipeline_model_parallel_size=2", "train.global_batch_size=2"}, 2);
  CHECK(plan_memory(single, kPadded).stages[0].activations ==
        doctest::Approx(kTokens * (c0.modules.saved + c0.batch)));
}

TEST_CASE("full recompute keeps group inputs and peaks in the top group's backward") {
  // One rank, 4 layers, one layer a group: forward keeps 4 inputs, the batch (tokens, labels,
  // mask, positions) and the head. The backward's transient is the larger of the head's and the
  // top layer's: its recomputed activations replace its input, plus its MLP backward buffers,
  // after the head's buffers are gone.
  const Recipe recipe = load({"train.recompute_granularity=full", "train.recompute_method=uniform",
                              "train.recompute_num_layers=1"},
                             1);
  const CostQuery q = cost_query(recipe);
  const ModuleCost layer = TransformerLayer("l", layer_config(recipe)).cost(q);
  const ModuleCost norm = LayerNorm("n", norm_config(recipe, 64)).cost(q);
  const ModuleCost head = LanguageModelHead("h", lm_head_config(recipe, kPadded), nullptr).cost(q);
  const double head_saved = norm.saved + head.saved, input = 64 * 4, batch = 16;
  const MemoryPlan plan = plan_memory(recipe, kPadded);
  CHECK(plan.activations == doctest::Approx(kTokens * (4 * input + batch + head_saved)));
  const double top_layer = layer.saved - input + layer.backward - head_saved;
  CHECK(plan.workspace == doctest::Approx(kTokens * std::max(head.backward, top_layer)));
  // The plain recipe reports the same figure as its recompute alternative.
  const MemoryPlan plain = plan_memory(load({}, 1), kPadded);
  CHECK(plain.activations_recompute == doctest::Approx(plan.activations + plan.workspace));
  CHECK(plain.activations == doctest::Approx(kTokens * (4 * layer.saved + batch + head_saved)));
}
