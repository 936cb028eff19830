// TransformerLayer: f64 gradient checks with and without dropout, slot names, unknown slot types.
#include <doctest/doctest.h>

#include "engine/models/transformer_config.h"
#include "engine/nn/transformer_layer.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

TEST_CASE("transformer_layer fills its slots by registered name with Megatron parameter names") {
  const Recipe recipe = test::tiny_gpt_recipe();
  auto layer = LayerRegistry::instance().create("transformer_layer", "decoder.layers.3",
                                                layer_config(recipe));
  std::vector<std::string> names;
  for (Parameter* p : layer->parameters()) names.push_back(p->name);
  const std::string s = "decoder.layers.3.";
  CHECK(names == std::vector<std::string>{
                     s + "input_layernorm.weight", s + "input_layernorm.bias",
                     s + "self_attention.linear_qkv.weight", s + "self_attention.linear_qkv.bias",
                     s + "self_attention.linear_proj.weight", s + "self_attention.linear_proj.bias",
                     s + "pre_mlp_layernorm.weight", s + "pre_mlp_layernorm.bias",
                     s + "mlp.linear_fc1.weight", s + "mlp.linear_fc1.bias",
                     s + "mlp.linear_fc2.weight", s + "mlp.linear_fc2.bias"});
}

TEST_CASE("transformer_layer with an unknown slot type names the known layers") {
  const Recipe recipe = test::tiny_gpt_recipe();
  LayerConfig config = layer_config(recipe);
  config.block.mlp = "mpl";
  CHECK_THROWS_WITH(TransformerLayer("l", config), doctest::Contains("did you mean 'mlp'"));
}

TEST_CASE("transformer_layer gradients match finite differences without dropout") {
  TransformerLayer layer("decoder.layers.0", layer_config(test::tiny_gpt_recipe()));
  test::check_layer_gradients(layer, {2, 4, 16}, 51);
}

TEST_CASE(
    "transformer_layer gradients match finite differences with hidden and attention dropout") {
  test::TinyGpt tiny;
  tiny.hidden_dropout = 0.3;
  tiny.attention_dropout = 0.2;
  TransformerLayer layer("decoder.layers.0", layer_config(test::tiny_gpt_recipe(tiny)));
  test::check_layer_gradients(layer, {2, 4, 16}, 52);
}

TEST_CASE("transformer_layer dropout is off outside training and differs between micro-batches") {
  test::TinyGpt tiny;
  tiny.hidden_dropout = 0.5;
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  TransformerLayer layer("decoder.layers.0", layer_config(recipe));
  test::check_layer_gradients(layer, {1, 3, 16}, 53);  // binds parameters
  const Tensor x = test::random_tensor({1, 3, 16}, DType::kF64, 54);
  MicroBatchContext eval(false, 9, 0, 0), eval2(false, 9, 0, 1);
  CHECK(layer.forward(x, eval).to_vector<double>() == layer.forward(x, eval2).to_vector<double>());
  MicroBatchContext mb0(true, 9, 0, 0), mb1(true, 9, 0, 1);
  CHECK(layer.forward(x, mb0).to_vector<double>() != layer.forward(x, mb1).to_vector<double>());
}

}  // namespace
}  // namespace me
