// The Llama-family recipes shipped under recipes/llama/: the CPU one validates and holds what it
// advertises, the GPU shapes carry their published hyperparameters and fail training validation
// only with "not supported yet" limits; plus the Llama options' defaults and SwiGLU's ffn rule.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "datasets/gpt_dataset_schema.h"
#include "engine/recipe/recipe.h"
#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {
namespace {

using Lines = std::vector<std::string>;

std::string llama(const std::string& name) {
  return std::string(ME_SOURCE_DIR) + "/recipes/llama/" + name;
}

TEST_CASE("llama options default to Megatron's values") {
  RecipeDir dir;
  const Recipe r = load_recipe(dir.write("r.yaml", kMinimalRecipe), {});
  CHECK(r.model.rotary_base == 10000);
  CHECK(r.model.rotary_percent == 1.0);
  CHECK_FALSE(r.model.rotary_interleaved);
  CHECK_FALSE(r.model.use_rope_scaling);
  CHECK(r.model.rope_scaling_factor == 8.0);
  CHECK(r.model.rope_scaling_original_max_position_embeddings == 8192);
  CHECK_FALSE(r.model.swiglu);
  CHECK_FALSE(r.model.add_qkv_bias);
  CHECK_FALSE(r.model.qk_layernorm);
  CHECK_FALSE(r.family<GptDataConfig>().reset_attention_mask);
  // Megatron's swiglu default: int((4h * 2/3) / 64) * 64, e.g. h = 4096 -> 10880, h = 64 -> 128.
  CHECK(load_recipe(dir.write("s.yaml", kMinimalRecipe), {"model.swiglu=true"})
            .derived.ffn_hidden_size == 128);
  CHECK(load_recipe(dir.write("t.yaml", kMinimalRecipe),
                    {"model.swiglu=true", "model.hidden_size=4096", "model.num_attention_heads=32"})
            .derived.ffn_hidden_size == 10880);
}

TEST_CASE("llama_tiny validates and is the CPU Llama it advertises") {
  CHECK(load_errors(llama("llama_tiny.yaml")) == Lines{});
  const Recipe r = load_recipe(llama("llama_tiny.yaml"), {});
  CHECK(r.train.device == "cpu");
  CHECK(r.model.position_embedding_type == "rope");
  CHECK(r.model.normalization == "RMSNorm");
  CHECK(r.model.swiglu);
  CHECK(r.model.untie_embeddings_and_output_weights);
  CHECK_FALSE(r.model.add_bias_linear);
  CHECK(r.derived.num_query_groups == 2);
  CHECK(r.derived.ffn_hidden_size == 320);  // int((4 * 128 * 2/3) / 64) * 64
  CHECK(r.family<GptDataConfig>().reset_attention_mask);
  CHECK(r.tokenizer.tokenizer_type == std::optional<std::string>("byte"));
  CHECK(parse_recipe(recipe_to_yaml(r), r.source) == r);
}

TEST_CASE("llama3_2_1b validates with its published shape") {
  CHECK(load_errors(llama("llama3_2_1b.yaml"), {}, 8) == Lines{});
  const Recipe r = load_recipe(llama("llama3_2_1b.yaml"), {}, 8);
  CHECK(r.model.num_layers == 16);
  CHECK(r.model.hidden_size == 2048);
  CHECK(r.derived.kv_channels == 64);
  CHECK(r.derived.num_query_groups == 8);
  CHECK(r.model.rotary_base == 500000);
  CHECK(r.model.rope_scaling_factor == 32.0);
  CHECK_FALSE(r.model.untie_embeddings_and_output_weights);  // 3.2-1B ties its embeddings
  CHECK(r.mixed_precision.bf16);
}

TEST_CASE("the 7B and 8B shapes load with the distributed optimizer at dp 8") {
  for (const char* name : {"llama3_1_8b.yaml", "mistral_7b.yaml", "qwen2_7b.yaml"}) {
    CAPTURE(name);
    CHECK(load_errors(llama(name), {}, 8).empty());
    const Recipe r = load_recipe(llama(name), {}, 8);
    CHECK(r.parallel.use_distributed_optimizer);
    CHECK(r.model.num_query_groups < r.model.num_attention_heads);
    CHECK(r.model.swiglu);
  }
  const Recipe qwen =
      load_recipe(llama("qwen2_7b.yaml"), {"parallel.use_distributed_optimizer=false"}, 8);
  CHECK(qwen.model.add_qkv_bias);
  CHECK(qwen.model.layernorm_epsilon == 1e-6);
  CHECK(qwen.derived.kv_channels == 128);  // 3584 / 28
  const Recipe mistral =
      load_recipe(llama("mistral_7b.yaml"), {"parallel.use_distributed_optimizer=false"}, 8);
  CHECK(mistral.model.rotary_base == 1000000);
  CHECK_FALSE(mistral.model.use_rope_scaling);
}

TEST_CASE("llama3_1_70b validates on 64 ranks: tp 8 x pp 4 x dp 2") {
  const std::string path = llama("llama3_1_70b.yaml");
  CHECK(load_errors(path, {}, 64) == Lines{});
  const Recipe r = load_recipe(path, {}, 64, RecipePurpose::kPlan);
  CHECK(r.model.num_layers == 80);
  CHECK(r.derived.ffn_hidden_size == 28672);
  CHECK(r.derived.data_parallel_size == 2);
}

}  // namespace
}  // namespace me::test
