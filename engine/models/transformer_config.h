// Megatron's TransformerConfig as the modules see it: the recipe's model (and train) section turned
// into the small configs engine/nn builds modules from. GPT uses these for its one stack; other
// families fill the same configs with their own widths (a ViT tower, a T5 decoder, experts).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/nn/embedding.h"
#include "engine/nn/layer_config.h"
#include "engine/nn/lm_head.h"
#include "engine/nn/recompute.h"

namespace me {

struct Recipe;

// model.normalization over `size` channels with model.layernorm_epsilon.
NormConfig norm_config(const Recipe& recipe, int64_t size);
// The decoder layers' configs: the standard block (self-attention and MLP, pre-LN), causal
// attention with the recipe's heads, groups, biases, q/k norms and RoPE, Megatron's inits (the
// output projections at init_method_std / sqrt(2 num_layers)).
LayerConfig layer_config(const Recipe& recipe);
// One config per decoder layer (all num_layers, by global index): layer_config's standard block,
// or with model.hybrid_override_pattern the block each character names ('*' self-attention alone,
// '-' the MLP alone).
std::vector<LayerConfig> stack_layer_configs(const Recipe& recipe);
// Word embeddings over `padded_vocab_size` rows, learned positions with learned_absolute.
EmbeddingConfig embedding_config(const Recipe& recipe, int64_t padded_vocab_size);
LmHeadConfig lm_head_config(const Recipe& recipe, int64_t padded_vocab_size);
// What the modules compute in: bf16 or f16 under mixed precision, else f32.
DType compute_dtype(const Recipe& recipe);
// train.recompute_granularity: full, with its method and layer count.
FullRecompute full_recompute(const Recipe& recipe);

}  // namespace me
