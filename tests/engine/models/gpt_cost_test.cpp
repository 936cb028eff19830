// GPT's chunk cost against what a real model's forward saves (the MicroBatchContext's count of
// distinct saved storages) for GPT, Llama, recompute and hybrid layer patterns, and its parts
// against per-token figures derived by hand for a 64-wide GPT at tp 1 and tp 2, with and without
// sequence parallelism.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/models/gpt.h"
#include "engine/models/transformer_config.h"
#include "engine/nn/context.h"
#include "engine/nn/layer_norm.h"
#include "engine/nn/lm_head.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/nn/transformer_layer.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

using namespace me;

namespace {

constexpr int64_t kVocab = 64, kB = 2, kT = 16;

// The hand-built recipe with the fields the cost query reads beyond the model's: one CPU rank.
Recipe recipe_of(const test::TinyGpt& tiny) {
  Recipe recipe = test::tiny_gpt_recipe(tiny);
  recipe.parallel.tensor_model_parallel_size = 1;
  recipe.train.device = "cpu";
  return recipe;
}

CostQuery query_of(const Recipe& recipe) {
  CostQuery q;
  q.dtype = compute_dtype(recipe);
  q.seq_length = static_cast<double>(recipe.model.seq_length);
  q.host = recipe.train.device != "cuda";
  return q;
}

// Bytes the model's forward leaves saved for one micro-batch of kB x kT tokens.
double saved_after_forward(GptModel& model) {
  test::bind_standalone(model.parameters(), DType::kF32, 7);
  const Batch batch = test::RandomLmBatch{kT, kVocab}.rows(3, 0, kB);
  MicroBatchContext ctx(true, 7, 1, 0);
  model.forward(batch, ctx);
  return static_cast<double>(ctx.saved_bytes());
}

// Its modules' saved bytes and the batch tensors it keeps, which on one rank are the views of the
// tokens, positions and labels the embedding and the head save: what the context counts.
void check_forward(const Recipe& recipe) {
  GptModel model(recipe, kVocab);
  const ChunkCost cost = model.chunk_cost(0, query_of(recipe));
  CHECK(cost.batch == 3 * 4);
  CHECK(saved_after_forward(model) == kB * kT * (cost.modules.saved + cost.batch));
}

test::TinyGpt three_layers() {
  test::TinyGpt tiny;
  tiny.num_layers = 3;
  tiny.max_position_embeddings = kT;
  return tiny;
}

}  // namespace

TEST_CASE("a gpt forward saves the bytes its chunk cost reports") {
  check_forward(recipe_of(three_layers()));
}

TEST_CASE("a llama forward with q k norms saves the bytes its chunk cost reports") {
  test::TinyGpt tiny = three_layers();
  tiny.num_query_groups = 2;
  tiny.position_embedding_type = "rope";
  tiny.normalization = "RMSNorm";
  tiny.swiglu = true;
  tiny.untie = true;
  tiny.add_bias_linear = false;
  tiny.qk_layernorm = true;
  check_forward(recipe_of(tiny));
}

TEST_CASE("selective and full recompute save what the chunk cost reports") {
  Recipe recipe = recipe_of(three_layers());
  recipe.train.recompute_granularity = "selective";
  check_forward(recipe);
  // Full, uniform, 2 layers per group: groups [0, 2) and [2, 3) keep one input each.
  recipe.train.recompute_granularity = "full";
  recipe.train.recompute_method = "uniform";
  recipe.train.recompute_num_layers = 2;
  check_forward(recipe);
  const Recipe plain = recipe_of(three_layers());
  const double head_and_input =
      GptModel(recipe, kVocab).chunk_cost(0, query_of(recipe)).modules.saved;
  const double full = GptModel(plain, kVocab).chunk_cost(0, query_of(plain)).modules.saved;
  const double layer = TransformerLayer("l", layer_config(plain)).cost(query_of(plain)).saved;
  CHECK(head_and_input == full - 3 * layer + 2 * 16 * 4);  // two checkpointed 16-wide inputs
}

TEST_CASE("a hybrid pattern's forward saves the sum of its attention-only and mlp-only layers") {
  test::TinyGpt tiny = three_layers();
  tiny.num_layers = 4;
  Recipe recipe = recipe_of(tiny);
  recipe.model.hybrid_override_pattern = "*-*-";
  check_forward(recipe);
  Recipe selective = recipe;
  selective.train.recompute_granularity = "selective";
  check_forward(selective);

  const CostQuery q = query_of(recipe);
  LayerConfig attention = layer_config(recipe), mlp = layer_config(recipe);
  attention.block.mlp.clear();
  mlp.block.self_attention.clear();
  const ModuleCost a = TransformerLayer("a", attention).cost(q);
  const ModuleCost m = TransformerLayer("m", mlp).cost(q);
  const ModuleCost standard = TransformerLayer("s", layer_config(recipe)).cost(q);
  const ModuleCost hybrid = GptModel(recipe, kVocab).chunk_cost(0, q).modules;
  Recipe dense = recipe;
  dense.model.hybrid_override_pattern.reset();
  const ModuleCost all = GptModel(dense, kVocab).chunk_cost(0, q).modules;
  // Two of each in place of four standard layers; an attention-only layer has no MLP FLOPs.
  CHECK(hybrid.saved == doctest::Approx(all.saved - 4 * standard.saved + 2 * (a.saved + m.saved)));
  CHECK(hybrid.flops == doctest::Approx(all.flops - 4 * standard.flops + 2 * (a.flops + m.flops)));
  CHECK(a.flops + m.flops == doctest::Approx(standard.flops));
}

TEST_CASE("per-token bytes by hand for a 64-wide gpt at tp 1 and tp 2 with and without sp") {
  test::TinyGpt tiny;
  tiny.hidden_size = 64;
  tiny.ffn_hidden_size = 256;
  Recipe recipe = recipe_of(tiny);
  constexpr int64_t kPadded = 512;
  struct Parts {
    ModuleCost layer, selective, head;
  };
  // Under a group of `tp` (no communicators: sizes only), token rows 1 / tp with sp.
  const auto parts = [&](int64_t tp, bool sp) {
    const TensorParallel group{0, tp, nullptr, nullptr, sp};
    TensorParallelScope scope(group);
    const CostQuery q = query_of(recipe).with_rows(sp ? 1.0 / static_cast<double>(tp) : 1.0);
    Parts p;
    p.layer = TransformerLayer("l", layer_config(recipe)).cost(q);
    Recipe selective = recipe;
    selective.train.recompute_granularity = "selective";
    p.selective = TransformerLayer("l", layer_config(selective)).cost(q);
    const ModuleCost norm = LayerNorm("n", norm_config(recipe, 64)).cost(q);
    const ModuleCost head =
        LanguageModelHead("h", lm_head_config(recipe, kPadded), nullptr).cost(q);
    const ModuleCost both[] = {norm, head};
    p.head = sequence_cost(both, 0.0);
    return p;
  };
  // fp32, C 64, 4 heads of 16, F 256, LayerNorm: two norm inputs and the qkv and fc1 inputs
  // 4 C * 4 = 1024, four f32 statistics 16, q k v and out 4 * 64 * 4 = 1024, four f32 lse 16,
  // fc1 output and fc2 input 2 * 256 * 4 = 2048.
  Parts p = parts(1, false);
  CHECK(p.layer.saved == 1024 + 16 + 1024 + 16 + 2048);
  CHECK(p.selective.saved == 1024 + 16 + 2048);
  CHECK(p.layer.input == 256);  // what a full-recompute group keeps
  // Final norm input and the head's hidden 2 C * 4, 2 statistics, logits 512 * 4, lse 4, mask 8.
  CHECK(p.head.saved == 512 + 8 + 2048 + 4 + 8);
  // Loss gradients 8 + 4, then the hidden gradient C * 4; the layer: dy C * 4 and two F * 4
  // (fc2's input gradient and, on the host, the GEMM result before GeLU's derivative).
  CHECK(p.head.backward == 12 + 256);
  CHECK(p.layer.backward == 256 + 2048);
  // tp 2: heads and MLP halve; the logits halve (their gradient still written over them), and the
  // head keeps its own labels mapped to its columns (4).
  p = parts(2, false);
  CHECK(p.layer.saved == 1024 + 16 + (1024 + 16 + 2048) / 2.0);
  CHECK(p.head.saved == 512 + 8 + 1024 + 4 + 8 + 4);
  CHECK(p.head.backward == 12 + 256);
  CHECK(p.layer.backward == 256 + 1024);
  // Sequence parallel: norm inputs and column-parallel inputs halve too; the head and fc2
  // backward gather the full hidden (C * 4) beside their split inputs, and the head's hidden
  // gradient is reduce-scattered into a compact half (C * 4 / 2) beside it.
  p = parts(2, true);
  CHECK(p.layer.saved == (1024 + 16) / 2.0 + (1024 + 16 + 2048) / 2.0);
  CHECK(p.layer.input == 128);
  CHECK(p.head.backward == 256 + 12 + 256 + 128);
  CHECK(p.layer.backward == 128 + 256 + 1024);
}
