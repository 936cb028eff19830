// SelfAttention: f64 gradient checks (with and without attention dropout; Llama's RoPE, GQA,
// qk_layernorm, qkv bias and document masking), causality, document isolation, parameter names,
// shapes and inits in Megatron's layout.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "engine/models/transformer_config.h"
#include "engine/nn/self_attention.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

TEST_CASE("self_attention declares Megatron's fused qkv and proj parameters") {
  test::TinyGpt tiny;
  tiny.num_layers = 8;
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  auto attn = LayerRegistry::instance().create("self_attention", "decoder.layers.0.self_attention",
                                               layer_config(recipe));
  const auto params = attn->parameters();
  REQUIRE(params.size() == 4);
  CHECK(params[0]->name == "decoder.layers.0.self_attention.linear_qkv.weight");
  CHECK(params[0]->shape == Shape{3 * 16, 16});
  CHECK(params[0]->init.std == 0.02);
  CHECK(params[1]->name == "decoder.layers.0.self_attention.linear_qkv.bias");
  CHECK(params[2]->name == "decoder.layers.0.self_attention.linear_proj.weight");
  CHECK(params[2]->shape == Shape{16, 16});
  CHECK(params[2]->init.std == doctest::Approx(0.02 / std::sqrt(16.0)));
  CHECK(params[3]->name == "decoder.layers.0.self_attention.linear_proj.bias");
  CHECK(params[3]->init.kind == ParamInit::Kind::kZeros);
}

TEST_CASE("self_attention gradients match finite differences") {
  const Recipe recipe = test::tiny_gpt_recipe();
  SelfAttention attn("attn", layer_config(recipe).attention);
  test::check_layer_gradients(attn, {2, 5, 16}, 31);
}

TEST_CASE("self_attention gradients match finite differences with attention dropout") {
  test::TinyGpt tiny;
  tiny.attention_dropout = 0.25;
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  SelfAttention attn("attn", layer_config(recipe).attention);
  test::check_layer_gradients(attn, {2, 5, 16}, 32);
}

TEST_CASE("self_attention gradients match finite differences with grouped-query attention") {
  test::TinyGpt tiny;
  tiny.num_query_groups = 2;  // 4 query heads share 2 key/value heads
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  SelfAttention attn("attn", layer_config(recipe).attention);
  CHECK(attn.parameters()[0]->shape == Shape{(4 + 2 * 2) * 4, 16});
  test::check_layer_gradients(attn, {2, 5, 16}, 33);
}

TEST_CASE("self_attention is causal: position t never sees later positions") {
  const Recipe recipe = test::tiny_gpt_recipe();
  SelfAttention attn("attn", layer_config(recipe).attention);
  test::bind_standalone(attn.parameters(), DType::kF64, 3);
  test::randomize_values(attn.parameters(), 0.3, 3);
  const Tensor x = test::random_tensor({1, 6, 16}, DType::kF64, 4);
  MicroBatchContext ctx(false, 0, 0, 0);
  const auto before = attn.forward(x, ctx).to_vector<double>();
  x.data<double>()[5 * 16 + 3] += 1.0;  // change the last position only
  const auto after = attn.forward(x, ctx).to_vector<double>();
  for (size_t i = 0; i < 5 * 16; ++i) CHECK(after[i] == before[i]);
  double change = 0;
  for (size_t i = 5 * 16; i < 6 * 16; ++i) change += std::fabs(after[i] - before[i]);
  CHECK(change > 1e-3);
}

// Gradient check of a SelfAttention whose forward reads the micro-batch's SequenceInfo.
void check_attention_gradients(const Recipe& recipe, const SequenceInfo& sequence, uint64_t seed) {
  SelfAttention attn("attn", layer_config(recipe).attention);
  const auto params = attn.parameters();
  test::bind_standalone(params, DType::kF64, seed);
  test::randomize_values(params, 0.3, seed);
  const Tensor x = test::random_tensor(
      {sequence.position_ids.dim(0), sequence.position_ids.dim(1), recipe.model.hidden_size},
      DType::kF64, seed + 1);
  MicroBatchContext ctx(true, seed, 3, 1);
  ctx.set_sequence(sequence);
  const Tensor y = attn.forward(x, ctx);
  const Tensor w = test::random_tensor(y.shape(), DType::kF64, seed + 2);
  const Tensor dx = attn.backward(w, ctx);
  CHECK(ctx.empty());
  auto loss = [&] {
    MicroBatchContext scratch(true, seed, 3, 1);
    scratch.set_sequence(sequence);
    return test::weighted_sum(attn.forward(x, scratch), w);
  };
  test::check_sampled_gradient(loss, x, dx, 64, "attn input");
  test::check_parameter_gradients(params, loss);
}

test::TinyGpt llama_attention() {
  test::TinyGpt tiny;
  tiny.num_query_groups = 2;
  tiny.add_bias_linear = false;
  tiny.add_qkv_bias = true;
  tiny.qk_layernorm = true;
  tiny.normalization = "RMSNorm";
  tiny.position_embedding_type = "rope";
  return tiny;
}

TEST_CASE("self_attention with qk_layernorm and qkv bias declares Megatron's names") {
  const Recipe recipe = test::tiny_gpt_recipe(llama_attention());
  SelfAttention attn("decoder.layers.0.self_attention", layer_config(recipe).attention);
  std::vector<std::string> names;
  for (Parameter* p : attn.parameters()) names.push_back(p->name);
  const std::string at = "decoder.layers.0.self_attention.";
  CHECK(names == std::vector<std::string>{at + "linear_qkv.weight", at + "linear_qkv.bias",
                                          at + "q_layernorm.weight", at + "k_layernorm.weight",
                                          at + "linear_proj.weight"});
  CHECK(attn.parameters()[2]->shape == Shape{4});  // per head: kv_channels
}

TEST_CASE("self_attention gradients match finite differences with RoPE and GQA and qk_layernorm") {
  test::TinyGpt tiny = llama_attention();
  tiny.use_rope_scaling = true;
  tiny.rope_scaling_original_max_position_embeddings = 4;
  tiny.rotary_base = 100;
  const Tensor positions = Tensor::from_vector<int32_t>({0, 1, 2, 3, 4, 7, 8, 0, 1, 2}, {2, 5});
  check_attention_gradients(test::tiny_gpt_recipe(tiny), {positions, Tensor()}, 34);
  tiny.rotary_interleaved = true;
  tiny.rotary_percent = 0.5;
  tiny.normalization = "LayerNorm";
  check_attention_gradients(test::tiny_gpt_recipe(tiny), {positions, Tensor()}, 35);
}

TEST_CASE("self_attention gradients match finite differences with two documents per sequence") {
  const Tensor positions = Tensor::from_vector<int32_t>({0, 1, 2, 0, 1, 0, 1, 2, 3, 4}, {2, 5});
  const Tensor documents = Tensor::from_vector<int32_t>({0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, {2, 5});
  check_attention_gradients(test::tiny_gpt_recipe(llama_attention()), {positions, documents}, 36);
}

TEST_CASE("self_attention with documents and reset positions equals each document alone") {
  // With RoPE and positions restarting per document, a packed document's outputs are exactly
  // those of the document run as its own sequence.
  SelfAttention attn("attn", layer_config(test::tiny_gpt_recipe(llama_attention())).attention);
  test::bind_standalone(attn.parameters(), DType::kF64, 5);
  test::randomize_values(attn.parameters(), 0.3, 5);
  const Tensor x = test::random_tensor({1, 7, 16}, DType::kF64, 6);
  MicroBatchContext packed_ctx(false, 0, 0, 0);
  packed_ctx.set_sequence({Tensor::from_vector<int32_t>({0, 1, 2, 0, 1, 2, 3}, {1, 7}),
                           Tensor::from_vector<int32_t>({0, 0, 0, 1, 1, 1, 1}, {1, 7})});
  const auto packed = attn.forward(x, packed_ctx).to_vector<double>();
  for (const auto& [t0, t1] : {std::pair<int64_t, int64_t>{0, 3}, {3, 7}}) {
    const Tensor part = x.view(t0 * 16, {1, t1 - t0, 16}).clone();
    std::vector<int32_t> pos;
    for (int64_t i = 0; i < t1 - t0; ++i) pos.push_back(static_cast<int32_t>(i));
    MicroBatchContext alone_ctx(false, 0, 0, 0);
    alone_ctx.set_sequence({Tensor::from_vector(pos, {1, t1 - t0}), Tensor()});
    const auto alone = attn.forward(part, alone_ctx).to_vector<double>();
    for (size_t i = 0; i < alone.size(); ++i) {
      CHECK(packed[static_cast<size_t>(t0 * 16) + i] == doctest::Approx(alone[i]).epsilon(1e-12));
    }
  }
}

}  // namespace
}  // namespace me
