// Test helper: a hand-built Recipe for tiny GPT and Llama-shaped models (the fields modules read),
// so module and model tests do not depend on the YAML loader.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/gpt_dataset_schema.h"
#include "engine/recipe/recipe.h"

namespace me::test {

struct TinyGpt {
  int64_t num_layers = 2;
  int64_t hidden_size = 16;
  int64_t num_attention_heads = 4;
  int64_t num_query_groups = 4;  // == heads: no GQA
  int64_t ffn_hidden_size = 24;
  int64_t max_position_embeddings = 16;
  bool untie = false;
  bool add_bias_linear = true;
  double hidden_dropout = 0.0;
  double attention_dropout = 0.0;
  // Llama-family options (Megatron names and defaults).
  std::string position_embedding_type = "learned_absolute";
  std::string normalization = "LayerNorm";
  bool swiglu = false;
  bool add_qkv_bias = false;
  bool qk_layernorm = false;
  int64_t rotary_base = 10000;
  double rotary_percent = 1.0;
  bool rotary_interleaved = false;
  bool use_rope_scaling = false;
  double rope_scaling_factor = 8.0;
  int64_t rope_scaling_original_max_position_embeddings = 8192;
  double layernorm_epsilon = 1e-5;
  bool reset_attention_mask = false;
  int64_t micro_batch_size = 1;  // what pipeline stages exchange per micro-batch
};

inline Recipe tiny_gpt_recipe(const TinyGpt& t = {}) {
  Recipe r{};
  ModelConfig& m = r.model;
  m.type = "gpt";
  m.num_layers = t.num_layers;
  m.hidden_size = t.hidden_size;
  m.ffn_hidden_size = t.ffn_hidden_size;
  m.num_attention_heads = t.num_attention_heads;
  m.group_query_attention = t.num_query_groups != t.num_attention_heads;
  m.num_query_groups = t.num_query_groups;
  m.seq_length = t.max_position_embeddings;
  r.train.micro_batch_size = t.micro_batch_size;
  m.max_position_embeddings = t.max_position_embeddings;
  m.position_embedding_type = t.position_embedding_type;
  m.rotary_base = t.rotary_base;
  m.rotary_percent = t.rotary_percent;
  m.rotary_interleaved = t.rotary_interleaved;
  m.use_rope_scaling = t.use_rope_scaling;
  m.rope_scaling_factor = t.rope_scaling_factor;
  m.rope_scaling_original_max_position_embeddings = t.rope_scaling_original_max_position_embeddings;
  m.normalization = t.normalization;
  m.layernorm_epsilon = t.layernorm_epsilon;
  m.swiglu = t.swiglu;
  m.add_qkv_bias = t.add_qkv_bias;
  m.qk_layernorm = t.qk_layernorm;
  r.family<GptDataConfig>().reset_attention_mask = t.reset_attention_mask;
  m.untie_embeddings_and_output_weights = t.untie;
  m.add_bias_linear = t.add_bias_linear;
  m.hidden_dropout = t.hidden_dropout;
  m.attention_dropout = t.attention_dropout;
  m.init_method_std = 0.02;
  m.make_vocab_size_divisible_by = 128;
  r.derived.ffn_hidden_size = t.ffn_hidden_size;
  r.derived.kv_channels = t.hidden_size / t.num_attention_heads;
  r.derived.num_query_groups = t.num_query_groups;
  r.source = "<test>";
  return r;
}

}  // namespace me::test
