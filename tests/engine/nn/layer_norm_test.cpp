// LayerNorm: hand-computed forward, f64 gradient check, registry construction from a recipe.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/models/transformer_config.h"
#include "engine/nn/layer_norm.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

TEST_CASE("layer_norm forward normalises each row then scales and shifts") {
  LayerNorm ln("ln", 3, 0.0);
  const auto params = ln.parameters();
  test::bind_standalone(params, DType::kF64, 1);
  CHECK(params[0]->value.to_vector<double>() == std::vector<double>{1, 1, 1});  // init ones
  CHECK(params[1]->value.to_vector<double>() == std::vector<double>{0, 0, 0});  // init zeros
  CHECK_FALSE(params[0]->weight_decay);
  CHECK_FALSE(params[1]->weight_decay);
  params[0]->value.copy_from(Tensor::from_vector<double>({1, 2, 3}, {3}));
  params[1]->value.copy_from(Tensor::from_vector<double>({0, 1, 0}, {3}));
  MicroBatchContext ctx(false, 0, 0, 0);
  // row (1, 2, 3): mean 2, var 2/3 -> (-1, 0, 1) * sqrt(3/2)
  const auto y =
      ln.forward(Tensor::from_vector<double>({1, 2, 3}, {1, 1, 3}), ctx).to_vector<double>();
  const double s = std::sqrt(1.5);
  CHECK(y[0] == doctest::Approx(-s));
  CHECK(y[1] == doctest::Approx(1.0));
  CHECK(y[2] == doctest::Approx(3 * s));
}

TEST_CASE("layer_norm gradients match finite differences") {
  LayerNorm ln("decoder.final_layernorm", 7, 1e-5);
  test::check_layer_gradients(ln, {2, 3, 7}, 21);
}

TEST_CASE("layer_norm is built by name from the recipe") {
  const Recipe recipe = test::tiny_gpt_recipe();
  CHECK(norm_config(recipe, 16).type == "layer_norm");
  auto layer = LayerRegistry::instance().create("layer_norm", "x.norm", layer_config(recipe));
  const auto params = layer->parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0]->name == "x.norm.weight");
  CHECK(params[0]->shape == Shape{recipe.model.hidden_size});
  Recipe bad = recipe;
  bad.model.normalization = "BatchNorm";
  CHECK_THROWS_WITH(norm_config(bad, 16), doctest::Contains("model.normalization"));
}

}  // namespace
}  // namespace me
