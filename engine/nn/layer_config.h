// What layers are built from: one small config per module kind, which a model fills from its
// recipe (engine/models/layer_configs.h for GPT's). A stack of another width (a ViT tower, a T5
// decoder, an expert MLP) reuses the same modules with other numbers; no module reads a recipe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kernels/attention.h"
#include "kernels/rope.h"

namespace me {

// A normalization layer over the last `size` channels.
struct NormConfig {
  std::string type = "layer_norm";  // the registered layer: layer_norm or rms_norm
  int64_t size = 0;
  double epsilon = 1e-5;
  // Normalises each of this tensor-parallel rank's attention heads (q/k norms), so at tp > 1 its
  // gradient is a partial sum over the group; otherwise it sits between the tensor-parallel
  // blocks, where sequence parallelism splits the tokens.
  bool over_rank_heads = false;
};

// Rotary position embedding of the first `dim` channels of every head (Megatron's RotaryEmbedding).
struct RotaryConfig {
  int64_t dim = 0;  // rotated channels per head, even
  double base = 10000.0;
  bool interleaved = false;
  std::optional<RopeScaling> scaling;  // Llama-3.1 frequency scaling
};

// Multi-head attention with grouped queries, as self-attention or (query from the layer's
// input, keys and values from another stream) cross-attention.
struct AttentionConfig {
  int64_t hidden_size = 0;       // C: input and output width
  int64_t num_heads = 0;         // Hq
  int64_t num_query_groups = 0;  // G key/value heads, G divides Hq
  int64_t kv_channels = 0;       // D per head
  AttentionMask mask = AttentionMask::kCausal;
  bool qkv_bias = false;
  bool output_bias = false;
  std::optional<NormConfig> qk_norm;  // per-head norms of q and k (qk_layernorm), size D
  std::optional<RotaryConfig> rotary;
  double dropout = 0.0;  // on the attention probabilities
  double init_std = 0.02;
  double output_init_std = 0.02;  // linear_proj's (Megatron scales it by 1 / sqrt(2 L))
};

// Feed-forward block: fc1, activation, fc2.
struct MlpConfig {
  enum class Activation { kGelu, kSwiglu };
  int64_t hidden_size = 0;
  int64_t ffn_hidden_size = 0;  // F: the activation's width (fc1 is 2F wide with SwiGLU)
  Activation activation = Activation::kGelu;
  bool bias = true;
  double init_std = 0.02;
  double output_init_std = 0.02;  // linear_fc2's
};

// A residual block (Megatron's TransformerLayerSubmodules): which branches it has, each a norm,
// a registered layer and a dropout added to the residual stream. An empty type means no branch.
struct BlockConfig {
  std::string self_attention = "self_attention";
  std::string cross_attention;  // e.g. a T5 decoder layer's; reads the context's memory stream
  std::string mlp = "mlp";
  // Post-LN residual order, y = norm(x + branch(x)), in place of pre-LN's y = x + branch(norm(x)).
  bool post_norm = false;
  double hidden_dropout = 0.0;
  // Checkpoint the self-attention branch at its input (train.recompute_granularity: selective).
  bool selective_recompute = false;
};

// Everything the layers of one stack are built from; each registered layer reads its own part
// (ME_REGISTER_LAYER names which).
struct LayerConfig {
  NormConfig norm;
  AttentionConfig attention;
  AttentionConfig cross_attention;
  MlpConfig mlp;
  BlockConfig block;
};

}  // namespace me
