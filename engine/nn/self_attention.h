// Causal self-attention (Megatron mcore SelfAttention), registered as "self_attention":
// fused linear_qkv in Megatron's per-query-group layout, flash-style core attention
// (kernels/attention.h, scale 1/sqrt(kv_channels), attention_dropout), then linear_proj.
#pragma once

#include <cstdint>
#include <string>

#include "engine/nn/linear.h"
#include "engine/nn/module.h"

namespace me {

class SelfAttention final : public Layer {
 public:
  struct Saved {
    Tensor q, k, v;  // (B, T, Hq, D), (B, T, G, D), (B, T, G, D)
    Tensor out;      // (B, T, Hq, D)
    Tensor lse;      // (B, Hq, T)
  };

  // Reads model.{hidden_size, num_attention_heads, add_bias_linear, attention_dropout,
  // init_method_std, num_layers} and derived.{kv_channels, num_query_groups}.
  SelfAttention(const std::string& name, const Recipe& recipe);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;    // (B, T, C)
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;  // (B, T, C)

 private:
  int64_t num_heads_;
  int64_t num_query_groups_;
  int64_t kv_channels_;
  double attention_dropout_;
  Linear linear_qkv_;   // C -> (Hq + 2G) * D
  Linear linear_proj_;  // Hq * D -> C
};

}  // namespace me
