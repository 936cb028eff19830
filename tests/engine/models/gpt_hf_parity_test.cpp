// GPT against Hugging Face GPT-2 (an independent implementation): weights, logits, loss and the
// gradient of every parameter come from scripts/fixtures/make_gpt2_fixture.py (float64 torch).
#include <doctest/doctest.h>

#include <string>

#include "engine/models/model.h"
#include "engine/recipe/recipe.h"
#include "tests/support/hf_fixture.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

// fp32 forward/backward against a float64 reference: |ours - ref| <= 1e-5 + 1e-4 * |ref|.
constexpr test::ParityTolerance kTolerance{1e-5, 1e-4};

void check_parity(const std::string& name, bool untie) {
  const test::HfFixture f = test::load_hf_fixture("gpt2/" + name);
  const auto& cfg = f.config();
  REQUIRE(cfg["tied"].get<bool>() == !untie);
  test::TinyGpt tiny;
  tiny.num_layers = cfg["num_layers"];
  tiny.hidden_size = cfg["hidden_size"];
  tiny.num_attention_heads = cfg["num_attention_heads"];
  tiny.num_query_groups = tiny.num_attention_heads;
  tiny.ffn_hidden_size = 4 * tiny.hidden_size;
  tiny.max_position_embeddings = cfg["max_position_embeddings"];
  tiny.untie = untie;
  const int64_t vocab = cfg["vocab_size"];
  auto model = ModelRegistry::instance().create("gpt", test::tiny_gpt_recipe(tiny), vocab);
  test::check_hf_parity(*model, f, vocab, kTolerance);
}

TEST_CASE(
    "gpt matches Hugging Face GPT-2 logits and loss and every gradient with tied embeddings") {
  check_parity("gpt2_tied", false);
}

TEST_CASE("gpt matches Hugging Face GPT-2 with an untied output layer") {
  check_parity("gpt2_untied", true);
}

}  // namespace
}  // namespace me
