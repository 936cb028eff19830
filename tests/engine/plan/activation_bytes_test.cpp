// The plan's per-token activation bytes against what a real model's forward saves (the
// MicroBatchContext's count of distinct saved storages), and against hand-derived figures.
#include <doctest/doctest.h>

#include "engine/models/gpt.h"
#include "engine/nn/context.h"
#include "engine/plan/activation_bytes.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

using namespace me;

namespace {

constexpr int64_t kVocab = 64, kB = 2, kT = 16;

// The hand-built recipe with the fields the plan reads beyond the model's: one CPU rank.
Recipe recipe_of(const test::TinyGpt& tiny) {
  Recipe recipe = test::tiny_gpt_recipe(tiny);
  recipe.parallel.tensor_model_parallel_size = 1;
  recipe.train.device = "cpu";
  return recipe;
}

// Bytes the model's forward leaves saved for one micro-batch of kB x kT tokens.
double saved_after_forward(const Recipe& recipe) {
  GptModel model(recipe, kVocab);
  test::bind_standalone(model.parameters(), DType::kF32, 7);
  const Batch batch = test::RandomLmBatch{kT, kVocab}.rows(3, 0, kB);
  MicroBatchContext ctx(true, 7, 1, 0);
  model.forward(batch, ctx);
  return static_cast<double>(ctx.saved_bytes());
}

// Besides the layers and the head, a micro-batch keeps the batch's token ids (the embedding's
// ids), positions and labels (the head's targets): views of the batch's i32 tensors.
double forward_bytes(const TokenBytes& b, double layers_bytes) {
  return kB * kT * (layers_bytes + b.head + b.embedding + b.positions + b.labels);
}

}  // namespace

TEST_CASE("a gpt forward saves the bytes the plan counts per token") {
  test::TinyGpt tiny;
  tiny.num_layers = 3;
  tiny.max_position_embeddings = kT;
  const Recipe recipe = recipe_of(tiny);
  const TokenBytes b = token_bytes(recipe, kVocab);
  CHECK(saved_after_forward(recipe) == forward_bytes(b, 3 * b.layer_full));
}

TEST_CASE("a llama forward with q k norms saves the bytes the plan counts per token") {
  test::TinyGpt tiny;
  tiny.num_layers = 2;
  tiny.max_position_embeddings = kT;
  tiny.num_query_groups = 2;
  tiny.position_embedding_type = "rope";
  tiny.normalization = "RMSNorm";
  tiny.swiglu = true;
  tiny.untie = true;
  tiny.add_bias_linear = false;
  tiny.qk_layernorm = true;
  const Recipe recipe = recipe_of(tiny);
  const TokenBytes b = token_bytes(recipe, kVocab);
  CHECK(saved_after_forward(recipe) == forward_bytes(b, 2 * b.layer_full));
}

TEST_CASE("selective and full recompute save what the plan counts per token") {
  test::TinyGpt tiny;
  tiny.num_layers = 3;
  tiny.max_position_embeddings = kT;
  Recipe recipe = recipe_of(tiny);
  recipe.train.recompute_granularity = "selective";
  TokenBytes b = token_bytes(recipe, kVocab);
  CHECK(kept_layer_bytes(recipe, b) == b.layer_selective);
  CHECK(saved_after_forward(recipe) == forward_bytes(b, 3 * b.layer_selective));
  // Full, uniform, 2 layers per group: groups [0, 2) and [2, 3) keep one input each.
  recipe.train.recompute_granularity = "full";
  recipe.train.recompute_method = "uniform";
  recipe.train.recompute_num_layers = 2;
  b = token_bytes(recipe, kVocab);
  CHECK(saved_after_forward(recipe) == forward_bytes(b, 2 * b.checkpoint));
}

TEST_CASE("per-token bytes by hand for a 64-wide gpt at tp 1 and tp 2 with and without sp") {
  test::TinyGpt tiny;
  tiny.hidden_size = 64;
  tiny.ffn_hidden_size = 256;
  Recipe recipe = recipe_of(tiny);
  // fp32, C 64, 4 heads of 16, F 256, LayerNorm: two norm inputs and the qkv and fc1 inputs
  // 4 C * 4 = 1024, four f32 statistics 16, q k v and out 4 * 64 * 4 = 1024, four f32 lse 16,
  // fc1 output and fc2 input 2 * 256 * 4 = 2048.
  TokenBytes b = token_bytes(recipe, 512);
  CHECK(b.layer_full == 1024 + 16 + 1024 + 16 + 2048);
  CHECK(b.layer_selective == 1024 + 16 + 2048);
  CHECK(b.checkpoint == 256);
  // Final norm input and the head's hidden 2 C * 4, 2 statistics, logits 512 * 4, lse 4, mask 8.
  CHECK(b.head == 512 + 8 + 2048 + 4 + 8);
  // Loss gradients 8 + 4, then the hidden gradient C * 4; the layer: dy C * 4 and two F * 4.
  CHECK(b.head_backward == 12 + 256);
  CHECK(b.layer_backward == 256 + 2048);
  // tp 2: heads and MLP halve; the logits halve (their gradient still written over them).
  recipe.parallel.tensor_model_parallel_size = 2;
  b = token_bytes(recipe, 512);
  CHECK(b.layer_full == 1024 + 16 + (1024 + 16 + 2048) / 2.0);
  CHECK(b.head == 512 + 8 + 1024 + 4 + 8);
  CHECK(b.head_backward == 12 + 256);
  CHECK(b.layer_backward == 256 + 1024);
  // Sequence parallel: norm inputs and column-parallel inputs halve too; the head and fc2
  // backward gather the full hidden (C * 4) beside their split inputs, and the head's hidden
  // gradient is reduce-scattered into a compact half (C * 4 / 2) beside it.
  recipe.parallel.sequence_parallel = true;
  b = token_bytes(recipe, 512);
  CHECK(b.layer_full == (1024 + 16) / 2.0 + (1024 + 16 + 2048) / 2.0);
  CHECK(b.checkpoint == 128);
  CHECK(b.head_backward == 256 + 12 + 256 + 128);
  CHECK(b.layer_backward == 128 + 256 + 1024);
}
