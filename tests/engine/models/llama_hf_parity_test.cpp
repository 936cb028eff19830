// GPT configured as Llama against Hugging Face LlamaForCausalLM (an independent implementation):
// RMSNorm, RoPE (plain and Llama-3.1 scaled), SwiGLU, GQA (4 heads, 2 kv heads), untied, no
// biases; and as Qwen2 (Qwen2ForCausalLM: add_qkv_bias). Weights, logits, loss and every gradient
// come from scripts/fixtures/make_llama_fixture.py (float64 torch).
#include <doctest/doctest.h>

#include <string>

#include "engine/models/model.h"
#include "engine/recipe/recipe.h"
#include "tests/support/hf_fixture.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

// fp32 forward/backward against a float64 reference: |ours - ref| <= 1e-5 + 1e-4 * |ref|. HF
// computes RoPE's cos/sin in f32 even in a float64 model, as we do.
constexpr test::ParityTolerance kTolerance{1e-5, 1e-4};

void check_parity(const std::string& name, bool scaled) {
  const test::HfFixture f = test::load_hf_fixture("llama/" + name);
  const auto& cfg = f.config();
  test::TinyGpt tiny;
  tiny.num_layers = cfg["num_layers"];
  tiny.hidden_size = cfg["hidden_size"];
  tiny.num_attention_heads = cfg["num_attention_heads"];
  tiny.num_query_groups = cfg["num_query_groups"];
  tiny.ffn_hidden_size = cfg["ffn_hidden_size"];
  tiny.max_position_embeddings = cfg["max_position_embeddings"];
  tiny.layernorm_epsilon = cfg["layernorm_epsilon"];
  tiny.rotary_base = cfg["rotary_base"];
  tiny.untie = true;
  tiny.add_bias_linear = false;
  tiny.position_embedding_type = "rope";
  tiny.normalization = "RMSNorm";
  tiny.swiglu = true;
  tiny.add_qkv_bias = cfg["add_qkv_bias"];
  REQUIRE(cfg["rope_scaling"].is_null() == !scaled);
  if (scaled) {
    const auto& s = cfg["rope_scaling"];
    REQUIRE(s["rope_type"] == "llama3");
    REQUIRE(s["low_freq_factor"].get<double>() == 1.0);  // Megatron's fixed values
    REQUIRE(s["high_freq_factor"].get<double>() == 4.0);
    tiny.use_rope_scaling = true;
    tiny.rope_scaling_factor = s["factor"];
    tiny.rope_scaling_original_max_position_embeddings = s["original_max_position_embeddings"];
  }
  const int64_t vocab = cfg["vocab_size"];
  auto model = ModelRegistry::instance().create("gpt", test::tiny_gpt_recipe(tiny), vocab);
  test::check_hf_parity(*model, f, vocab, kTolerance);
}

TEST_CASE("llama matches Hugging Face LlamaForCausalLM logits and loss and every gradient") {
  check_parity("llama_rope", false);
}

TEST_CASE("llama matches Hugging Face with llama3 rope scaling") {
  check_parity("llama_rope_scaling", true);
}

TEST_CASE("qwen2-shaped gpt with add_qkv_bias matches Hugging Face Qwen2ForCausalLM") {
  check_parity("qwen2_qkv_bias", false);
}

}  // namespace
}  // namespace me
