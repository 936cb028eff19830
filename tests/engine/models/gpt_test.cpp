// GptModel: parameter names and inits (Megatron mcore), f64 gradient checks of the whole model
// (tied/untied, with and without dropout), accumulation over micro-batches, inference logits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "engine/models/gpt.h"
#include "datasets/padded_vocab.h"
#include "tests/support/lm_loss.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 61;  // padded to 64: labels never reach the padding rows
constexpr int64_t kB = 2, kT = 5;

int64_t padded() { return padded_vocab_size(kVocab, 16, 1); }

Batch make_batch(uint64_t seed) { return test::RandomLmBatch{kT, kVocab, 4, 3}.rows(seed, 0, kB); }

TEST_CASE("gpt parameters carry Megatron mcore names and shapes and inits and weight-decay flags") {
  test::TinyGpt tiny;
  tiny.num_layers = 1;
  for (bool untie : {false, true}) {
    CAPTURE(untie);
    tiny.untie = untie;
    Recipe recipe = test::tiny_gpt_recipe(tiny);
    recipe.model.embedding_init_method_std = 0.05;
    auto model = ModelRegistry::instance().create("gpt", recipe, padded());
    std::vector<std::string> names;
    for (Parameter* p : model->parameters()) names.push_back(p->name);
    std::vector<std::string> expected = {"embedding.word_embeddings.weight",
                                         "embedding.position_embeddings.weight"};
    for (const char* s :
         {"input_layernorm.weight", "input_layernorm.bias", "self_attention.linear_qkv.weight",
          "self_attention.linear_qkv.bias", "self_attention.linear_proj.weight",
          "self_attention.linear_proj.bias", "pre_mlp_layernorm.weight", "pre_mlp_layernorm.bias",
          "mlp.linear_fc1.weight", "mlp.linear_fc1.bias", "mlp.linear_fc2.weight",
          "mlp.linear_fc2.bias"}) {
      expected.push_back(std::string("decoder.layers.0.") + s);
    }
    expected.push_back("decoder.final_layernorm.weight");
    expected.push_back("decoder.final_layernorm.bias");
    if (untie) expected.push_back("output_layer.weight");
    CHECK(names == expected);
    const auto params = model->parameters();
    CHECK(params[0]->shape == Shape{64, 16});
    CHECK(params[0]->init.std == 0.05);
    CHECK(params[1]->shape == Shape{16, 16});
    CHECK(params[1]->init.std == 0.05);
    if (untie) CHECK(params.back()->init.std == 0.02);
    for (Parameter* p : params) {
      const bool no_decay = p->shape.size() == 1;  // biases and norms (megatron-facts 2.3)
      CHECK_MESSAGE(p->weight_decay == !no_decay, p->name);
    }
  }
}

TEST_CASE("gpt rejects position embeddings it does not implement") {
  Recipe recipe = test::tiny_gpt_recipe();
  recipe.model.position_embedding_type = "yarn";
  CHECK_THROWS_WITH(GptModel(recipe, 64), doctest::Contains("model.position_embedding_type"));
}

void check_model_gradients(const test::TinyGpt& tiny, uint64_t seed) {
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  GptModel model(recipe, padded());
  const auto params = model.parameters();
  test::bind_standalone(params, DType::kF64, seed);
  test::randomize_values(params, 0.3, seed);
  const Batch batch = make_batch(seed);
  MicroBatchContext ctx(true, seed, 2, 1);
  const test::LmLoss sums = test::lm_forward(model, batch, ctx);
  CHECK(sums.num_tokens == 8.0);  // 10 tokens, 2 masked
  test::lm_backward(model, 1.0 / sums.num_tokens, ctx);
  CHECK(ctx.empty());
  auto loss = [&] {
    MicroBatchContext scratch(true, seed, 2, 1);
    const test::LmLoss s = test::lm_forward(model, batch, scratch);
    return s.loss_sum / s.num_tokens;
  };
  test::check_parameter_gradients(params, loss, 48);
}

TEST_CASE("gpt gradients match finite differences when tied without dropout") {
  check_model_gradients({}, 61);
}

TEST_CASE("gpt gradients match finite differences when untied without dropout") {
  test::TinyGpt tiny;
  tiny.untie = true;
  check_model_gradients(tiny, 62);
}

TEST_CASE("gpt gradients match finite differences when tied with hidden and attention dropout") {
  test::TinyGpt tiny;
  tiny.hidden_dropout = 0.2;
  tiny.attention_dropout = 0.15;
  check_model_gradients(tiny, 63);
}

TEST_CASE("gpt gradients match finite differences when untied with dropout and no biases") {
  test::TinyGpt tiny;
  tiny.untie = true;
  tiny.add_bias_linear = false;
  tiny.hidden_dropout = 0.1;
  tiny.attention_dropout = 0.1;
  check_model_gradients(tiny, 64);
}

TEST_CASE("gpt backward accumulates gradients over micro-batches") {
  const Recipe recipe = test::tiny_gpt_recipe();
  GptModel model(recipe, padded());
  const auto params = model.parameters();
  test::bind_standalone(params, DType::kF64, 7);
  const Batch a = make_batch(1), b = make_batch(2);
  auto grads_of = [&](const std::vector<const Batch*>& batches) {
    test::zero_grads(params);
    for (size_t i = 0; i < batches.size(); ++i) {
      MicroBatchContext ctx(true, 7, 0, i);
      model.forward(*batches[i], ctx);
      test::lm_backward(model, 0.5, ctx);
    }
    std::vector<std::vector<double>> out;
    for (Parameter* p : params) out.push_back(p->grad.to_vector<double>());
    return out;
  };
  const auto ga = grads_of({&a}), gb = grads_of({&b}), gab = grads_of({&a, &b});
  for (size_t i = 0; i < params.size(); ++i) {
    for (size_t j = 0; j < ga[i].size(); ++j) {
      CHECK(gab[i][j] == doctest::Approx(ga[i][j] + gb[i][j]).epsilon(1e-12).scale(1e-12));
    }
  }
}

TEST_CASE("gpt logits reproduce the training loss and ignore dropout") {
  test::TinyGpt tiny;
  tiny.hidden_dropout = 0.3;
  tiny.attention_dropout = 0.3;
  GptModel model(test::tiny_gpt_recipe(tiny), padded());
  test::bind_standalone(model.parameters(), DType::kF32, 8);
  test::randomize_values(model.parameters(), 0.3, 8);
  const Batch batch = make_batch(3);
  const Tensor logits = model.logits(batch.at("tokens"));
  REQUIRE(logits.shape() == Shape{kB, kT, 64});
  REQUIRE(logits.dtype() == DType::kF32);
  const auto l = logits.to_vector<float>();
  const auto labels = batch.at("labels").to_vector<int32_t>();
  const auto mask = batch.at("loss_mask").to_vector<float>();
  double loss_sum = 0;  // log-softmax by hand, in double
  for (int64_t i = 0; i < kB * kT; ++i) {
    double mx = -1e30, z = 0;
    for (int64_t v = 0; v < 64; ++v) mx = std::max(mx, double(l[i * 64 + v]));
    for (int64_t v = 0; v < 64; ++v) z += std::exp(l[i * 64 + v] - mx);
    loss_sum += mask[i] * (mx + std::log(z) - l[i * 64 + labels[i]]);
  }
  MicroBatchContext eval(false, 8, 0, 0);
  const test::LmLoss sums = test::lm_forward(model, batch, eval);
  CHECK(eval.empty());
  CHECK(sums.loss_sum == doctest::Approx(loss_sum).epsilon(1e-5));
  CHECK(sums.num_tokens == 8.0);
  CHECK_THROWS_WITH(model.logits(Tensor::zeros({1, 17}, DType::kI32)),
                    doctest::Contains("model.max_position_embeddings"));
}

}  // namespace
}  // namespace me
