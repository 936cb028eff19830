// GPT with model.hybrid_override_pattern: "*-*-" (attention-only and MLP-only layers, each with
// its own norm and residual) is the standard 2-layer GPT split differently: with the same values
// under the mapped names it gives the same loss and the same gradients (f64, to rounding).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "engine/models/gpt.h"
#include "tests/support/lm_loss.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 64;

// The standard layer i's name for a parameter of the hybrid model (layer 2i holds layer i's
// attention branch, layer 2i + 1 its MLP branch); names outside the layers are the same.
std::string standard_name(const std::string& hybrid) {
  const std::string prefix = "decoder.layers.";
  if (hybrid.rfind(prefix, 0) != 0) return hybrid;
  const size_t dot = hybrid.find('.', prefix.size());
  const int64_t layer = std::stoll(hybrid.substr(prefix.size(), dot - prefix.size()));
  return prefix + std::to_string(layer / 2) + hybrid.substr(dot);
}

TEST_CASE("a '*-*-' hybrid GPT computes the standard 2-layer GPT") {
  for (bool llama : {false, true}) {
    CAPTURE(llama);
    test::TinyGpt tiny;
    tiny.max_position_embeddings = 6;
    if (llama) {
      tiny.position_embedding_type = "rope";
      tiny.normalization = "RMSNorm";
      tiny.swiglu = true;
      tiny.num_query_groups = 2;
      tiny.untie = true;
    }
    tiny.num_layers = 2;
    GptModel standard(test::tiny_gpt_recipe(tiny), kVocab);
    tiny.num_layers = 4;
    Recipe hybrid_recipe = test::tiny_gpt_recipe(tiny);
    hybrid_recipe.model.hybrid_override_pattern = "*-*-";
    GptModel hybrid(hybrid_recipe, kVocab);
    test::bind_standalone(standard.parameters(), DType::kF64, 5);
    test::randomize_values(standard.parameters(), 0.3, 5);
    test::bind_standalone(hybrid.parameters(), DType::kF64, 6);
    std::map<std::string, Parameter*> by_name;
    for (Parameter* p : standard.parameters()) by_name[p->name] = p;
    REQUIRE(hybrid.parameters().size() == standard.parameters().size());
    for (Parameter* p : hybrid.parameters()) {
      CAPTURE(p->name);
      REQUIRE(by_name.count(standard_name(p->name)) == 1);
      p->value.copy_from(by_name[standard_name(p->name)]->value);
    }
    const Batch batch = test::RandomLmBatch{6, kVocab}.rows(9, 0, 2);
    MicroBatchContext a(true, 1, 0, 0), b(true, 1, 0, 0);
    const test::LmLoss want = test::lm_forward(standard, batch, a);
    const test::LmLoss got = test::lm_forward(hybrid, batch, b);
    CHECK(got.num_tokens == want.num_tokens);
    CHECK(got.loss_sum == doctest::Approx(want.loss_sum).epsilon(1e-12));
    test::lm_backward(standard, 1.0, a);
    test::lm_backward(hybrid, 1.0, b);
    for (Parameter* p : hybrid.parameters()) {
      CAPTURE(p->name);
      const auto g = p->grad.to_vector<double>();
      const auto w = by_name[standard_name(p->name)]->grad.to_vector<double>();
      double worst = 0, scale = 0;
      for (size_t i = 0; i < g.size(); ++i) {
        worst = std::max(worst, std::abs(g[i] - w[i]));
        scale = std::max(scale, std::abs(w[i]));
      }
      CHECK(scale > 0);
      CHECK(worst <= 1e-12 * scale);
    }
  }
}

}  // namespace
}  // namespace me
