// Mlp: f64 gradient check, parameter names, shapes and Megatron inits.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/nn/mlp.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

TEST_CASE("mlp declares linear_fc1 and linear_fc2 with Megatron inits") {
  const Recipe recipe = test::tiny_gpt_recipe();  // 2 layers
  auto mlp = LayerRegistry::instance().create("mlp", "decoder.layers.1.mlp", recipe);
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
  Mlp mlp("mlp", test::tiny_gpt_recipe(tiny));
  CHECK(mlp.parameters().size() == 2);
}

TEST_CASE("mlp gradients match finite differences") {
  Mlp mlp("mlp", test::tiny_gpt_recipe());
  test::check_layer_gradients(mlp, {2, 3, 16}, 41);
}

}  // namespace
}  // namespace me
