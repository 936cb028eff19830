// SelfAttention: f64 gradient checks (with and without attention dropout), causality, parameter
// names, shapes and inits in Megatron's layout.
#include <doctest/doctest.h>

#include <cmath>

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
  auto attn =
      LayerRegistry::instance().create("self_attention", "decoder.layers.0.self_attention", recipe);
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
  SelfAttention attn("attn", recipe);
  test::check_layer_gradients(attn, {2, 5, 16}, 31);
}

TEST_CASE("self_attention gradients match finite differences with attention dropout") {
  test::TinyGpt tiny;
  tiny.attention_dropout = 0.25;
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  SelfAttention attn("attn", recipe);
  test::check_layer_gradients(attn, {2, 5, 16}, 32);
}

TEST_CASE("self_attention gradients match finite differences with grouped-query attention") {
  test::TinyGpt tiny;
  tiny.num_query_groups = 2;  // 4 query heads share 2 key/value heads
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  SelfAttention attn("attn", recipe);
  CHECK(attn.parameters()[0]->shape == Shape{(4 + 2 * 2) * 4, 16});
  test::check_layer_gradients(attn, {2, 5, 16}, 33);
}

TEST_CASE("self_attention is causal: position t never sees later positions") {
  const Recipe recipe = test::tiny_gpt_recipe();
  SelfAttention attn("attn", recipe);
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

}  // namespace
}  // namespace me
