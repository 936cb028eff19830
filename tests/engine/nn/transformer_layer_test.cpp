// TransformerLayer: f64 gradient checks with and without dropout, slot names, unknown slot types.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/models/transformer_config.h"
#include "engine/nn/transformer_layer.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/standalone_parameters.h"
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

namespace me {
namespace {

// A cross-attention stand-in for the slot test: y = x + mean over the memory's tokens, so
// d(memory) = the sum of dy over the queries / Tm, added to the context's memory gradient.
class MemoryMean final : public Layer {
 public:
  MemoryMean(const std::string& name, const LayerConfig&) : Layer(name) {}
  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override {
    const Tensor& m = ctx.sequence().memory;
    const int64_t b = x.dim(0), t = x.dim(1), c = x.dim(2), tm = m.dim(1);
    Tensor y = x.clone();
    double* py = y.data<double>();
    const double* pm = m.data<double>();
    for (int64_t i = 0; i < b; ++i)
      for (int64_t s = 0; s < tm; ++s)
        for (int64_t q = 0; q < t; ++q)
          for (int64_t k = 0; k < c; ++k) py[(i * t + q) * c + k] += pm[(i * tm + s) * c + k] / tm;
    return y;
  }
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override {
    const Tensor& m = ctx.sequence().memory;
    const int64_t b = dy.dim(0), t = dy.dim(1), c = dy.dim(2), tm = m.dim(1);
    Tensor dm = Tensor::zeros(m.shape(), DType::kF64);
    double* pd = dm.data<double>();
    const double* pdy = dy.data<double>();
    for (int64_t i = 0; i < b; ++i)
      for (int64_t s = 0; s < tm; ++s)
        for (int64_t q = 0; q < t; ++q)
          for (int64_t k = 0; k < c; ++k) pd[(i * tm + s) * c + k] += pdy[(i * t + q) * c + k] / tm;
    ctx.add_memory_grad(dm);
    return dy.clone();
  }  // A test double: never planned.
  ModuleCost cost(const CostQuery&) const override { return {}; }
};
ME_REGISTER(LayerRegistry, "memory_mean_for_test", MemoryMean);

std::vector<std::string> names_of(Layer& layer) {
  std::vector<std::string> names;
  for (Parameter* p : layer.parameters()) names.push_back(p->name);
  return names;
}

TEST_CASE("a block with one branch holds that branch alone (hybrid '*' and '-' layers)") {
  LayerConfig attention_only = layer_config(test::tiny_gpt_recipe());
  attention_only.block.mlp.clear();
  TransformerLayer a("decoder.layers.0", attention_only);
  const std::string s = "decoder.layers.0.";
  CHECK(names_of(a) ==
        std::vector<std::string>{
            s + "input_layernorm.weight", s + "input_layernorm.bias",
            s + "self_attention.linear_qkv.weight", s + "self_attention.linear_qkv.bias",
            s + "self_attention.linear_proj.weight", s + "self_attention.linear_proj.bias"});
  test::check_layer_gradients(a, {2, 4, 16}, 61);
  LayerConfig mlp_only = layer_config(test::tiny_gpt_recipe());
  mlp_only.block.self_attention.clear();
  TransformerLayer m("decoder.layers.0", mlp_only);
  CHECK(names_of(m) ==
        std::vector<std::string>{s + "pre_mlp_layernorm.weight", s + "pre_mlp_layernorm.bias",
                                 s + "mlp.linear_fc1.weight", s + "mlp.linear_fc1.bias",
                                 s + "mlp.linear_fc2.weight", s + "mlp.linear_fc2.bias"});
  test::check_layer_gradients(m, {2, 4, 16}, 62);
  LayerConfig none = mlp_only;
  none.block.mlp.clear();
  CHECK_THROWS_WITH(TransformerLayer("l", none), doctest::Contains("at least one"));
}

TEST_CASE("a post-LN block ends in its last norm and its gradients match finite differences") {
  test::TinyGpt tiny;
  tiny.hidden_dropout = 0.2;
  LayerConfig config = layer_config(test::tiny_gpt_recipe(tiny));
  config.block.post_norm = true;
  TransformerLayer layer("decoder.layers.0", config);
  test::check_layer_gradients(layer, {2, 4, 16}, 63);
  // With the norms' initial weight 1 and bias 0 every output row has mean 0 and variance ~1.
  test::bind_standalone(layer.parameters(), DType::kF64, 64);
  const Tensor x = test::random_tensor({2, 4, 16}, DType::kF64, 65);
  MicroBatchContext ctx(false, 1, 0, 0);
  const auto y = layer.forward(x, ctx).to_vector<double>();
  for (int64_t row = 0; row < 8; ++row) {
    double mean = 0, square = 0;
    for (int64_t k = 0; k < 16; ++k) mean += y[row * 16 + k] / 16;
    for (int64_t k = 0; k < 16; ++k) square += (y[row * 16 + k] - mean) * (y[row * 16 + k] - mean);
    CHECK(mean == doctest::Approx(0.0).epsilon(1e-12).scale(1.0));
    CHECK(square / 16 == doctest::Approx(1.0).epsilon(1e-3));
  }
}

TEST_CASE("bidirectional attention lets early tokens see later ones; causal does not") {
  for (AttentionMask mask : {AttentionMask::kCausal, AttentionMask::kBidirectional}) {
    LayerConfig config = layer_config(test::tiny_gpt_recipe());
    config.attention.mask = mask;
    TransformerLayer layer("decoder.layers.0", config);
    test::check_layer_gradients(layer, {2, 4, 16}, 66);
    Tensor x = test::random_tensor({1, 4, 16}, DType::kF64, 67);
    MicroBatchContext ctx(false, 1, 0, 0);
    const auto before = layer.forward(x, ctx).to_vector<double>();
    x.data<double>()[3 * 16] += 1.0;  // the last token changes
    const auto after = layer.forward(x, ctx).to_vector<double>();
    const bool first_moved = before[0] != after[0];
    CHECK(first_moved == (mask == AttentionMask::kBidirectional));
  }
}

TEST_CASE("the cross-attention slot reads the context's memory and adds up its gradient") {
  LayerConfig config = layer_config(test::tiny_gpt_recipe());
  config.block.cross_attention = "memory_mean_for_test";
  TransformerLayer layer("decoder.layers.0", config);
  const auto names = names_of(layer);
  const auto cross =
      std::find(names.begin(), names.end(), "decoder.layers.0.pre_cross_attn_layernorm.weight");
  const auto mlp = std::find(names.begin(), names.end(), "decoder.layers.0.mlp.linear_fc1.weight");
  CHECK((cross != names.end() && cross < mlp));  // Megatron's branch order
  const auto params = layer.parameters();
  test::bind_standalone(params, DType::kF64, 70);
  test::randomize_values(params, 0.3, 70);
  const Tensor x = test::random_tensor({2, 3, 16}, DType::kF64, 71);
  const Tensor memory = test::random_tensor({2, 5, 16}, DType::kF64, 72);
  const Tensor w = test::random_tensor({2, 3, 16}, DType::kF64, 73);
  auto run = [&](MicroBatchContext& ctx) {
    SequenceInfo sequence{Tensor::from_vector<int32_t>({0, 1, 2, 0, 1, 2}, {2, 3})};
    sequence.memory = memory;
    ctx.set_sequence(sequence);
    return layer.forward(x, ctx);
  };
  MicroBatchContext ctx(true, 1, 0, 0);
  const Tensor y = run(ctx);
  const Tensor dx = layer.backward(w, ctx);
  const Tensor dmemory = ctx.memory_grad().clone();
  auto loss = [&] {
    MicroBatchContext scratch(true, 1, 0, 0);
    return test::weighted_sum(run(scratch), w);
  };
  test::check_gradient(loss, memory, dmemory, {}, "memory");
  test::check_gradient(loss, x, dx, {}, "x");
  test::check_parameter_gradients(params, loss);
}

}  // namespace
}  // namespace me
