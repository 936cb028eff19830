// Mlp: f64 gradient checks (GeLU and SwiGLU), parameter names, shapes and Megatron inits, and
// SwiGLU's [gate | up] row layout against a hand-written reference.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/models/transformer_config.h"
#include "engine/nn/mlp.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

TEST_CASE("mlp declares linear_fc1 and linear_fc2 with Megatron inits") {
  const Recipe recipe = test::tiny_gpt_recipe();  // 2 layers
  auto mlp = LayerRegistry::instance().create("mlp", "decoder.layers.1.mlp", layer_config(recipe));
  const auto params = mlp->parameters();
  REQUIRE(params.size() == 4);
  CHECK(params[0]->name == "decoder.layers.1.mlp.linear_fc1.weight");
  CHECK(params[0]->shape == Shape{24, 16});
  CHECK(params[0]->init.std == 0.02);
  CHECK(params[1]->name == "decoder.layers.1.mlp.linear_fc1.bias");
  CHECK(params[2]->name == "decoder.layers.1.mlp.linear_fc2.weight");
  CHECK(params[2]->shape == Shape{16, 24});
  CHECK(params[2]->init.std == doctest::Approx(0.01));  // 0.02 / sqrt(2 * 2)
  CHECK(params[3]->name == "decoder.layers.1.mlp.linear_fc2.bias");
}

TEST_CASE("mlp without biases declares weights only") {
  test::TinyGpt tiny;
  tiny.add_bias_linear = false;
  Mlp mlp("mlp", layer_config(test::tiny_gpt_recipe(tiny)).mlp);
  CHECK(mlp.parameters().size() == 2);
}

TEST_CASE("mlp gradients match finite differences") {
  Mlp mlp("mlp", layer_config(test::tiny_gpt_recipe()).mlp);
  test::check_layer_gradients(mlp, {2, 3, 16}, 41);
}

TEST_CASE("mlp with swiglu has a 2F-wide linear_fc1 and matches finite differences") {
  test::TinyGpt tiny;
  tiny.swiglu = true;
  tiny.add_bias_linear = false;
  Mlp mlp("mlp", layer_config(test::tiny_gpt_recipe(tiny)).mlp);
  const auto params = mlp.parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0]->shape == Shape{2 * 24, 16});
  CHECK(params[1]->shape == Shape{16, 24});
  test::check_layer_gradients(mlp, {2, 3, 16}, 42);
}

TEST_CASE("mlp with swiglu computes fc2(silu(gate rows of fc1) * up rows of fc1)") {
  test::TinyGpt tiny;
  tiny.swiglu = true;
  Mlp mlp("mlp", layer_config(test::tiny_gpt_recipe(tiny)).mlp);
  const auto params = mlp.parameters();  // fc1 w (48, 16), fc1 b (48), fc2 w (16, 24), fc2 b (16)
  test::bind_standalone(params, DType::kF64, 9);
  test::randomize_values(params, 0.5, 9);
  const Tensor x = test::random_tensor({1, 1, 16}, DType::kF64, 10);
  MicroBatchContext ctx(false, 0, 0, 0);
  const auto y = mlp.forward(x, ctx).to_vector<double>();
  const auto w1 = params[0]->value.to_vector<double>(), b1 = params[1]->value.to_vector<double>();
  const auto w2 = params[2]->value.to_vector<double>(), b2 = params[3]->value.to_vector<double>();
  const auto xv = x.to_vector<double>();
  std::vector<double> act(24);
  for (size_t f = 0; f < 24; ++f) {
    double gate = b1[f], up = b1[24 + f];
    for (size_t c = 0; c < 16; ++c) {
      gate += w1[f * 16 + c] * xv[c];
      up += w1[(24 + f) * 16 + c] * xv[c];
    }
    act[f] = gate / (1 + std::exp(-gate)) * up;
  }
  for (size_t c = 0; c < 16; ++c) {
    double expected = b2[c];
    for (size_t f = 0; f < 24; ++f) expected += w2[c * 24 + f] * act[f];
    CHECK(y[c] == doctest::Approx(expected).epsilon(1e-12));
  }
}

}  // namespace
}  // namespace me
