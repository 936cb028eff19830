// GptModel configured as Llama (RMSNorm, RoPE, SwiGLU, GQA, untied, no linear biases) and its
// variants: Megatron parameter names, f64 gradient checks of whole tiny models (RoPE scaling,
// qk_layernorm, qkv bias, document masking), and document isolation through the whole stack.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/models/gpt.h"
#include "tests/support/lm_loss.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 64;
constexpr int64_t kB = 2, kT = 6;

test::TinyGpt tiny_llama() {
  test::TinyGpt t;
  t.num_layers = 2;
  t.num_query_groups = 2;
  t.ffn_hidden_size = 20;
  t.untie = true;
  t.add_bias_linear = false;
  t.position_embedding_type = "rope";
  t.normalization = "RMSNorm";
  t.swiglu = true;
  return t;
}

// Two sequences; the first packs documents [0, 4) and [4, 6) (EOD at position 3).
Batch make_batch(uint64_t seed) {
  std::vector<int32_t> tokens, labels;
  std::vector<float> mask;
  for (int64_t i = 0; i < kB * kT; ++i) {
    tokens.push_back(static_cast<int32_t>(philox4x32(seed, 1, i).v[0] % kVocab));
    labels.push_back(static_cast<int32_t>(philox4x32(seed, 2, i).v[0] % kVocab));
    mask.push_back(i == 3 ? 0.0f : 1.0f);
  }
  Batch batch;
  batch.tensors["tokens"] = Tensor::from_vector(tokens, {kB, kT});
  batch.tensors["labels"] = Tensor::from_vector(labels, {kB, kT});
  batch.tensors["loss_mask"] = Tensor::from_vector(mask, {kB, kT});
  batch.tensors["position_ids"] =
      Tensor::from_vector<int32_t>({0, 1, 2, 3, 0, 1, 0, 1, 2, 3, 4, 5}, {kB, kT});
  batch.tensors["document_ids"] =
      Tensor::from_vector<int32_t>({0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}, {kB, kT});
  return batch;
}

void check_model_gradients(const test::TinyGpt& tiny, uint64_t seed) {
  GptModel model(test::tiny_gpt_recipe(tiny), kVocab);
  const auto params = model.parameters();
  test::bind_standalone(params, DType::kF64, seed);
  test::randomize_values(params, 0.3, seed);
  const Batch batch = make_batch(seed);
  MicroBatchContext ctx(true, seed, 2, 1);
  const test::LmLoss sums = test::lm_forward(model, batch, ctx);
  CHECK(sums.num_tokens == 11.0);
  test::lm_backward(model, 1.0 / sums.num_tokens, ctx);
  CHECK(ctx.empty());
  auto loss = [&] {
    MicroBatchContext scratch(true, seed, 2, 1);
    const test::LmLoss s = test::lm_forward(model, batch, scratch);
    return s.loss_sum / s.num_tokens;
  };
  test::check_parameter_gradients(params, loss, 40);
}

TEST_CASE("llama-shaped gpt has Megatron names and no position table or biases") {
  test::TinyGpt tiny = tiny_llama();
  tiny.num_layers = 1;
  tiny.qk_layernorm = true;
  GptModel model(test::tiny_gpt_recipe(tiny), kVocab);
  std::vector<std::string> names;
  for (Parameter* p : model.parameters()) names.push_back(p->name);
  std::vector<std::string> expected = {"embedding.word_embeddings.weight"};
  for (const char* s : {"input_layernorm.weight", "self_attention.linear_qkv.weight",
                        "self_attention.q_layernorm.weight", "self_attention.k_layernorm.weight",
                        "self_attention.linear_proj.weight", "pre_mlp_layernorm.weight",
                        "mlp.linear_fc1.weight", "mlp.linear_fc2.weight"}) {
    expected.push_back(std::string("decoder.layers.0.") + s);
  }
  expected.push_back("decoder.final_layernorm.weight");
  expected.push_back("output_layer.weight");
  CHECK(names == expected);
  const auto params = model.parameters();
  CHECK(params[2]->shape == Shape{(4 + 2 * 2) * 4, 16});  // GQA: 4 q heads, 2 kv heads, D 4
  CHECK(params[7]->shape == Shape{2 * 20, 16});           // swiglu: [gate | up]
  CHECK(test::names_of(model.inputs()) ==
        std::vector<std::string>{"tokens", "labels", "loss_mask", "position_ids"});
}

TEST_CASE("llama gradients match finite differences with GQA untied RoPE and SwiGLU") {
  check_model_gradients(tiny_llama(), 71);
}

TEST_CASE("llama gradients match finite differences with RoPE scaling and qk_layernorm") {
  test::TinyGpt tiny = tiny_llama();
  tiny.use_rope_scaling = true;
  tiny.rope_scaling_original_max_position_embeddings = 4;
  tiny.rotary_base = 1000;
  tiny.qk_layernorm = true;
  tiny.add_qkv_bias = true;
  check_model_gradients(tiny, 72);
}

TEST_CASE("llama gradients match finite differences with document masking and dropout") {
  test::TinyGpt tiny = tiny_llama();
  tiny.reset_attention_mask = true;
  tiny.num_query_groups = 1;  // multi-query
  tiny.untie = false;
  tiny.hidden_dropout = 0.1;
  tiny.attention_dropout = 0.1;
  check_model_gradients(tiny, 73);
}

TEST_CASE("llama with reset_attention_mask keeps documents apart through every layer") {
  // The loss of the second packed document (tokens 4, 5 of sequence 0, positions restarting at
  // 0) equals the loss of those tokens run as a sequence of their own, and does not move when a
  // token of the first document changes; without document masking it does.
  test::TinyGpt tiny = tiny_llama();
  tiny.reset_attention_mask = true;
  GptModel model(test::tiny_gpt_recipe(tiny), kVocab);
  CHECK(model.inputs().back().name == "document_ids");
  test::TinyGpt plain = tiny;
  plain.reset_attention_mask = false;
  GptModel leaky(test::tiny_gpt_recipe(plain), kVocab);
  for (GptModel* m : {&model, &leaky}) {
    test::bind_standalone(m->parameters(), DType::kF64, 5);
    test::randomize_values(m->parameters(), 0.3, 5);
  }
  Batch batch = make_batch(6);
  batch.tensors["loss_mask"] =
      Tensor::from_vector<float>({0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}, {kB, kT});
  auto loss_of = [](GptModel& m, const Batch& b) {
    MicroBatchContext ctx(false, 0, 0, 0);
    return test::lm_forward(m, b, ctx).loss_sum;
  };
  const double packed = loss_of(model, batch);
  const double packed_leaky = loss_of(leaky, batch);

  const auto tokens = batch.at("tokens").to_vector<int32_t>();
  const auto labels = batch.at("labels").to_vector<int32_t>();
  Batch alone;
  alone.tensors["tokens"] = Tensor::from_vector<int32_t>({tokens[4], tokens[5]}, {1, 2});
  alone.tensors["labels"] = Tensor::from_vector<int32_t>({labels[4], labels[5]}, {1, 2});
  alone.tensors["loss_mask"] = Tensor::from_vector<float>({1, 1}, {1, 2});
  alone.tensors["position_ids"] = Tensor::from_vector<int32_t>({0, 1}, {1, 2});
  alone.tensors["document_ids"] = Tensor::from_vector<int32_t>({0, 0}, {1, 2});
  CHECK(packed == doctest::Approx(loss_of(model, alone)).epsilon(1e-12));

  Tensor changed = batch.at("tokens").clone();
  changed.data<int32_t>()[1] = (tokens[1] + 1) % kVocab;  // inside the first document
  batch.tensors["tokens"] = changed;
  CHECK(loss_of(model, batch) == doctest::Approx(packed).epsilon(1e-13));
  CHECK(loss_of(leaky, batch) != doctest::Approx(packed_leaky).epsilon(1e-6));
}

}  // namespace
}  // namespace me
