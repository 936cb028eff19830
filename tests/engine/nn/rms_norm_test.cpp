// RmsNorm layer: parameter names and no-decay flag, f64 gradient check, values against the
// formula, and make_normalization's choice by model.normalization.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/models/transformer_config.h"
#include "engine/nn/rms_norm.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

test::TinyGpt rms() {
  test::TinyGpt tiny;
  tiny.normalization = "RMSNorm";
  return tiny;
}

TEST_CASE("rms_norm is registered with one weight and no bias") {
  auto norm = LayerRegistry::instance().create("rms_norm", "decoder.final_layernorm",
                                               layer_config(test::tiny_gpt_recipe(rms())));
  const auto params = norm->parameters();
  REQUIRE(params.size() == 1);
  CHECK(params[0]->name == "decoder.final_layernorm.weight");
  CHECK(params[0]->shape == Shape{16});
  CHECK(params[0]->init.kind == ParamInit::Kind::kOnes);
  CHECK_FALSE(params[0]->weight_decay);
}

TEST_CASE("rms_norm gradients match finite differences") {
  RmsNorm norm("norm", norm_config(test::tiny_gpt_recipe(rms()), 16));
  test::check_layer_gradients(norm, {2, 3, 16}, 51);
}

TEST_CASE("rms_norm scales each row by its root mean square and the weight") {
  RmsNorm norm("norm", 4, 1e-6);
  test::bind_standalone(norm.parameters(), DType::kF64, 1);
  norm.parameters()[0]->value.copy_from(Tensor::from_vector<double>({1, 2, 3, 4}, {4}));
  // Row [2, -2, 2, -2]: rms = 2, so y = [1, -1, 1, -1] * weight (up to eps).
  const Tensor x = Tensor::from_vector<double>({2, -2, 2, -2}, {1, 1, 4});
  MicroBatchContext ctx(false, 0, 0, 0);
  const auto y = norm.forward(x, ctx).to_vector<double>();
  const double s = 2.0 / std::sqrt(4.0 + 1e-6);
  CHECK(y == std::vector<double>{s * 1, -s * 2, s * 3, -s * 4});
}

TEST_CASE("make_normalization follows model.normalization") {
  auto r = make_norm("q", norm_config(test::tiny_gpt_recipe(rms()), 4));
  CHECK(r->parameters().size() == 1);
  auto l = make_norm("q", norm_config(test::tiny_gpt_recipe(), 4));
  CHECK(l->parameters().size() == 2);  // LayerNorm: weight and bias
}

}  // namespace
}  // namespace me
