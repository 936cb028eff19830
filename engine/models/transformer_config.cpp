// Recipe fields to module configs; the checks that need the recipe's field names live here.
#include "engine/models/transformer_config.h"

#include <fmt/format.h>

#include <cmath>

#include "engine/core/error.h"
#include "engine/recipe/hybrid_pattern.h"
#include "engine/recipe/recipe.h"

namespace me {

namespace {

std::string norm_type(const Recipe& recipe) {
  const std::string& norm = recipe.model.normalization;
  if (norm == "LayerNorm") return "layer_norm";
  if (norm == "RMSNorm") return "rms_norm";
  throw Error("unknown normalization '" + norm + "' (known: LayerNorm, RMSNorm)",
              "model.normalization");
}

RotaryConfig rotary_config(const Recipe& recipe) {
  const auto& m = recipe.model;
  const int64_t kv = recipe.derived.kv_channels;
  const double percent = m.rotary_percent;
  RotaryConfig rotary;
  rotary.dim = percent < 1.0 ? static_cast<int64_t>(static_cast<double>(kv) * percent) : kv;
  if (rotary.dim < 2 || rotary.dim % 2 != 0) {
    throw Error(fmt::format("rotary_percent {} of kv_channels {} gives {} rotated channels; RoPE "
                            "needs a positive even number",
                            percent, kv, rotary.dim),
                "model.rotary_percent");
  }
  rotary.base = static_cast<double>(m.rotary_base);
  rotary.interleaved = m.rotary_interleaved;
  if (m.use_rope_scaling) {
    RopeScaling scaling;
    scaling.factor = m.rope_scaling_factor;
    scaling.original_max_position_embeddings =
        static_cast<double>(m.rope_scaling_original_max_position_embeddings);
    rotary.scaling = scaling;
  }
  return rotary;
}

// Megatron's output-layer init: init_method_std / sqrt(2 num_layers).
double output_init_std(const Recipe& recipe) {
  return recipe.model.init_method_std /
         std::sqrt(2.0 * static_cast<double>(recipe.model.num_layers));
}

}  // namespace

NormConfig norm_config(const Recipe& recipe, int64_t size) {
  return {norm_type(recipe), size, recipe.model.layernorm_epsilon};
}

LayerConfig layer_config(const Recipe& recipe) {
  const auto& m = recipe.model;
  LayerConfig c;
  c.norm = norm_config(recipe, m.hidden_size);

  AttentionConfig& a = c.attention;
  a.hidden_size = m.hidden_size;
  a.num_heads = m.num_attention_heads;
  a.num_query_groups = recipe.derived.num_query_groups;
  a.kv_channels = recipe.derived.kv_channels;
  a.mask = AttentionMask::kCausal;
  a.qkv_bias = m.add_bias_linear || m.add_qkv_bias;  // Megatron forces it on with the linear bias
  a.output_bias = m.add_bias_linear;
  if (m.qk_layernorm) a.qk_norm = norm_config(recipe, recipe.derived.kv_channels);
  if (m.position_embedding_type == "rope") a.rotary = rotary_config(recipe);
  a.dropout = m.attention_dropout;
  a.init_std = m.init_method_std;
  a.output_init_std = output_init_std(recipe);

  MlpConfig& mlp = c.mlp;
  mlp.hidden_size = m.hidden_size;
  mlp.ffn_hidden_size = recipe.derived.ffn_hidden_size;
  mlp.activation = m.swiglu ? MlpConfig::Activation::kSwiglu : MlpConfig::Activation::kGelu;
  mlp.bias = m.add_bias_linear;
  mlp.init_std = m.init_method_std;
  mlp.output_init_std = output_init_std(recipe);

  c.block.hidden_dropout = m.hidden_dropout;
  c.block.selective_recompute = recipe.train.recompute_granularity == "selective";
  return c;
}

std::vector<LayerConfig> stack_layer_configs(const Recipe& recipe) {
  const LayerConfig standard = layer_config(recipe);
  const auto& pattern = recipe.model.hybrid_override_pattern;
  if (!pattern) {
    return std::vector<LayerConfig>(static_cast<size_t>(recipe.model.num_layers), standard);
  }
  std::vector<LayerConfig> layers;
  for (const HybridLayer kind : hybrid_layers(*pattern, recipe.model.num_layers)) {
    LayerConfig c = standard;
    if (kind == HybridLayer::kAttention) c.block.mlp.clear();
    if (kind == HybridLayer::kMlp) c.block.self_attention.clear();
    layers.push_back(std::move(c));
  }
  return layers;
}

EmbeddingConfig embedding_config(const Recipe& recipe, int64_t padded_vocab_size) {
  const auto& m = recipe.model;
  EmbeddingConfig c;
  c.vocab_size = padded_vocab_size;
  c.hidden_size = m.hidden_size;
  c.max_position_embeddings =
      m.position_embedding_type == "learned_absolute" ? m.max_position_embeddings : 0;
  c.init_std = m.embedding_init_method_std.value_or(m.init_method_std);
  c.dropout = m.hidden_dropout;
  return c;
}

LmHeadConfig lm_head_config(const Recipe& recipe, int64_t padded_vocab_size) {
  LmHeadConfig c;
  c.vocab_size = padded_vocab_size;
  c.hidden_size = recipe.model.hidden_size;
  c.init_std = recipe.model.init_method_std;
  return c;
}

DType compute_dtype(const Recipe& recipe) {
  if (recipe.mixed_precision.bf16) return DType::kBF16;
  if (recipe.mixed_precision.fp16) return DType::kF16;
  return DType::kF32;
}

FullRecompute full_recompute(const Recipe& recipe) {
  const auto& t = recipe.train;
  if (t.recompute_granularity != "full") return {};
  ME_CHECK(t.recompute_method && t.recompute_num_layers,
           "full recompute without a validated method and layer count");
  return {*t.recompute_method, *t.recompute_num_layers};
}

}  // namespace me
