// Activation recompute: chunking per Megatron method, bitwise-equal loss and gradients to the run
// without recompute (dropout and document masking on, two micro-batches, f32 and f64), and the
// saved-activation bytes each setting holds.
#include "engine/nn/recompute.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>

#include "datasets/padded_vocab.h"
#include "engine/models/gpt.h"
#include "engine/models/transformer_config.h"
#include "engine/recipe/recipe.h"
#include "tests/support/lm_loss.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 61;
constexpr int64_t kB = 2, kT = 8;

struct Setting {
  std::optional<std::string> granularity;
  std::optional<std::string> method;
  std::optional<int64_t> num_layers;
};

Recipe recipe_with(test::TinyGpt tiny, const Setting& setting) {
  Recipe recipe = test::tiny_gpt_recipe(tiny);
  recipe.train.recompute_granularity = setting.granularity;
  recipe.train.recompute_method = setting.method;
  recipe.train.recompute_num_layers = setting.num_layers;
  return recipe;
}

// Documents restart positions: row 0 splits at 3, row 1 at 5.
Batch make_batch(uint64_t seed) {
  std::vector<int32_t> tokens, labels, positions, documents;
  std::vector<float> mask;
  for (int64_t i = 0; i < kB * kT; ++i) {
    const int64_t row = i / kT, t = i % kT, split = row == 0 ? 3 : 5;
    tokens.push_back(static_cast<int32_t>(philox4x32(seed, 1, i).v[0] % kVocab));
    labels.push_back(static_cast<int32_t>(philox4x32(seed, 2, i).v[0] % kVocab));
    positions.push_back(static_cast<int32_t>(t < split ? t : t - split));
    documents.push_back(t < split ? 0 : 1);
    mask.push_back(i % 5 == 4 ? 0.0f : 1.0f);
  }
  Batch batch;
  batch.tensors["tokens"] = Tensor::from_vector(tokens, {kB, kT});
  batch.tensors["labels"] = Tensor::from_vector(labels, {kB, kT});
  batch.tensors["loss_mask"] = Tensor::from_vector(mask, {kB, kT});
  batch.tensors["position_ids"] = Tensor::from_vector(positions, {kB, kT});
  batch.tensors["document_ids"] = Tensor::from_vector(documents, {kB, kT});
  return batch;
}

struct Step {
  std::vector<double> losses;
  std::vector<std::vector<double>> grads;
  std::vector<size_t> after_forward;  // saved bytes once forward returns, per micro-batch
  size_t peak = 0;                    // most saved bytes at any time in the step
};

// Two micro-batches accumulated into the same gradients, as the trainer runs them.
Step run_step(const test::TinyGpt& tiny, const Setting& setting, DType dtype) {
  GptModel model(recipe_with(tiny, setting), padded_vocab_size(kVocab, 16, 1));
  const auto params = model.parameters();
  test::bind_standalone(params, dtype, 21);
  Step step;
  for (uint64_t mb = 0; mb < 2; ++mb) {
    MicroBatchContext ctx(true, 21, 3, mb);
    const test::LmLoss sums = test::lm_forward(model, make_batch(40 + mb), ctx);
    step.losses.push_back(sums.loss_sum);
    step.after_forward.push_back(ctx.saved_bytes());
    test::lm_backward(model, 1.0 / sums.num_tokens, ctx);
    CHECK(ctx.empty());
    CHECK(ctx.saved_bytes() == 0);
    step.peak = std::max(step.peak, ctx.peak_saved_bytes());
  }
  for (Parameter* p : params) {
    step.grads.push_back(p->grad.cast(DType::kF64).to_vector<double>());
  }
  return step;
}

test::TinyGpt tiny_with_dropout(bool llama) {
  test::TinyGpt tiny;
  tiny.num_layers = 3;
  tiny.max_position_embeddings = kT;
  tiny.hidden_dropout = 0.2;
  tiny.attention_dropout = 0.2;
  tiny.reset_attention_mask = true;
  if (llama) {
    tiny.position_embedding_type = "rope";
    tiny.normalization = "RMSNorm";
    tiny.swiglu = true;
    tiny.num_query_groups = 2;
    tiny.add_bias_linear = false;
    tiny.qk_layernorm = true;
  }
  return tiny;
}

const Setting kSelective{"selective", std::nullopt, std::nullopt};
const Setting kUniform1{"full", "uniform", 1};
const Setting kUniform2{"full", "uniform", 2};
const Setting kBlock2{"full", "block", 2};

}  // namespace

TEST_CASE("uniform recompute chunks recompute_num_layers layers with a shorter last chunk") {
  Recipe r = test::tiny_gpt_recipe();
  r.train.recompute_granularity = "full";
  r.train.recompute_method = "uniform";
  r.train.recompute_num_layers = 2;
  CHECK(recompute_chunks(full_recompute(r), 5) ==
        std::vector<RecomputeChunk>{{0, 2, true}, {2, 4, true}, {4, 5, true}});
  r.train.recompute_num_layers = 8;
  CHECK(recompute_chunks(full_recompute(r), 3) == std::vector<RecomputeChunk>{{0, 3, true}});
}

TEST_CASE("block recompute takes the first recompute_num_layers layers one at a time") {
  Recipe r = test::tiny_gpt_recipe();
  r.train.recompute_granularity = "full";
  r.train.recompute_method = "block";
  r.train.recompute_num_layers = 2;
  CHECK(recompute_chunks(full_recompute(r), 5) ==
        std::vector<RecomputeChunk>{{0, 1, true}, {1, 2, true}, {2, 5, false}});
  r.train.recompute_num_layers = 9;
  CHECK(recompute_chunks(full_recompute(r), 2) ==
        std::vector<RecomputeChunk>{{0, 1, true}, {1, 2, true}});
}

TEST_CASE("without full recompute the layers run as one plain chunk") {
  Recipe r = test::tiny_gpt_recipe();
  CHECK(recompute_chunks(full_recompute(r), 4) == std::vector<RecomputeChunk>{{0, 4, false}});
  r.train.recompute_granularity = "selective";
  CHECK(recompute_chunks(full_recompute(r), 4) == std::vector<RecomputeChunk>{{0, 4, false}});
}

TEST_CASE("recompute reproduces loss and every gradient bitwise with dropout and documents") {
  for (bool llama : {false, true}) {
    for (DType dtype : {DType::kF32, DType::kF64}) {
      const std::string type(dtype_name(dtype));
      CAPTURE(llama);
      CAPTURE(type);
      const test::TinyGpt tiny = tiny_with_dropout(llama);
      const Step plain = run_step(tiny, {}, dtype);
      for (const Setting& setting : {kSelective, kUniform1, kUniform2, kBlock2}) {
        const std::string granularity = *setting.granularity;
        const std::string method = setting.method.value_or("-");
        CAPTURE(granularity);
        CAPTURE(method);
        const Step again = run_step(tiny, setting, dtype);
        CHECK(again.losses == plain.losses);
        REQUIRE(again.grads.size() == plain.grads.size());
        for (size_t i = 0; i < plain.grads.size(); ++i) {
          CAPTURE(i);
          CHECK(again.grads[i] == plain.grads[i]);
        }
      }
    }
  }
}

TEST_CASE("dropout makes micro-batches differ so the bitwise check sees the masks") {
  const test::TinyGpt tiny = tiny_with_dropout(false);
  test::TinyGpt no_dropout = tiny;
  no_dropout.hidden_dropout = no_dropout.attention_dropout = 0.0;
  CHECK(run_step(tiny, kUniform1, DType::kF32).losses !=
        run_step(no_dropout, kUniform1, DType::kF32).losses);
}

TEST_CASE("saved activation bytes drop by the per-layer figures of engine/plan") {
  const test::TinyGpt tiny = tiny_with_dropout(false);
  const int64_t c = tiny.hidden_size, h = tiny.num_attention_heads, f = tiny.ffn_hidden_size;
  const size_t tokens = kB * kT, f32 = 4;
  // Per token and layer (the layers' cost reports, engine/nn/module_cost.h): x, ln1 out, h, ln2 out
  // (4C) and both norms' mean and rstd (4); q, k, v, attention out (4C), lse (H); fc1 out and fc2
  // in (2F).
  const size_t layer = tokens * f32 * static_cast<size_t>(8 * c + 4 + h + 2 * f);
  const size_t input = tokens * f32 * static_cast<size_t>(c);
  const size_t attention = tokens * f32 * static_cast<size_t>(4 * c + h);
  const Step plain = run_step(tiny, {}, DType::kF32);
  const Step selective = run_step(tiny, kSelective, DType::kF32);
  const Step uniform1 = run_step(tiny, kUniform1, DType::kF32);
  const Step uniform2 = run_step(tiny, kUniform2, DType::kF32);
  const Step block2 = run_step(tiny, kBlock2, DType::kF32);
  const size_t held = plain.after_forward[0];
  CHECK(plain.after_forward[1] == held);
  CHECK(plain.peak == held);  // backward only releases
  CHECK(held - selective.after_forward[0] == 3 * attention);
  CHECK(held - uniform1.after_forward[0] == 3 * (layer - input));
  CHECK(held - uniform2.after_forward[0] == 3 * layer - 2 * input);  // chunks {0, 1} and {2}
  CHECK(held - block2.after_forward[0] == 2 * (layer - input));      // layer 2 runs normally
  // Backward holds at most one recomputed chunk beyond what forward left.
  CHECK(uniform1.peak >= uniform1.after_forward[0]);
  CHECK(uniform1.peak <= uniform1.after_forward[0] + layer - input);
  CHECK(uniform2.peak <= uniform2.after_forward[0] + 2 * layer - input);
  CHECK(uniform1.peak < plain.peak);
  MESSAGE("saved bytes after forward / peak: none "
          << held << "/" << plain.peak << ", selective " << selective.after_forward[0] << "/"
          << selective.peak << ", full uniform 1 " << uniform1.after_forward[0] << "/"
          << uniform1.peak << ", full uniform 2 " << uniform2.after_forward[0] << "/"
          << uniform2.peak << ", full block 2 " << block2.after_forward[0] << "/" << block2.peak);
}

}  // namespace me

namespace me {
namespace {

// A layer that adds a loss of its own, as an MoE router adds its balancing loss: y = x, loss
// "aux" = sum(x^2) added once per forward, d(aux)/dx = 2 x scaled by the loss's gradient.
class AuxLoss final : public Layer {
 public:
  explicit AuxLoss(const std::string& name) : Layer(name) {}
  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override {
    double sum = 0;
    for (double v : x.to_vector<double>()) sum += v * v;
    ctx.add_loss("aux", sum, 1);
    ctx.save(this, Saved{x});
    return x.clone();
  }
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override {
    const Tensor x = ctx.take<Saved>(this).x;
    const double grad = ctx.loss_grad("aux");
    Tensor dx = dy.clone();
    double* d = dx.data<double>();
    const double* v = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) d[i] += 2.0 * v[i] * grad;
    return dx;
  }  // A test double: never planned.
  ModuleCost cost(const CostQuery&) const override { return {}; }

 private:
  struct Saved {
    Tensor x;
  };
};

TEST_CASE("a layer's loss counts once under full recompute and its backward reads its gradient") {
  AuxLoss first("a0"), second("a1");
  Recipe recipe = test::tiny_gpt_recipe();
  recipe.train.recompute_granularity = "full";
  recipe.train.recompute_method = "uniform";
  recipe.train.recompute_num_layers = 2;
  RecomputedLayers layers(full_recompute(recipe), {&first, &second});
  const Tensor x = Tensor::from_vector<double>({1.0, -2.0, 0.5}, {1, 1, 3});
  MicroBatchContext ctx(true, 1, 0, 0);
  layers.forward(x, ctx);
  REQUIRE(ctx.losses().terms().size() == 1);
  CHECK(ctx.losses().terms()[0].sum == 2 * 5.25);  // both layers, each once
  CHECK(ctx.losses().terms()[0].count == 2.0);
  ctx.set_loss_grad("aux", 0.5);
  const auto dx = layers.backward(Tensor::zeros({1, 1, 3}, DType::kF64), ctx).to_vector<double>();
  // The recomputed forward added nothing, and each layer's 2 x * 0.5 reaches the input.
  CHECK(ctx.losses().terms()[0].sum == 2 * 5.25);
  CHECK(dx == std::vector<double>{2.0, -4.0, 1.0});
  CHECK(ctx.empty());
}

}  // namespace
}  // namespace me
