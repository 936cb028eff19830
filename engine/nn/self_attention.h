// Self-attention (Megatron mcore SelfAttention), registered as "self_attention": fused
// linear_qkv (per-query-group layout), optional per-head q/k norms and RoPE, flash-style core
// attention (causal or bidirectional, within documents, over each sample's key length;
// kernels/attention.h), then linear_proj.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/nn/linear.h"
#include "engine/nn/module.h"
#include "engine/nn/rotary_embedding.h"

namespace me {

class SelfAttention final : public Layer {
 public:
  struct Saved {
    // Multi-head attention without q/k norms or RoPE, where the attention kernel reads q, k and
    // v from the projection in place (cuDNN): qkv (B, T, 3 Hq D) is kept; otherwise q, k and v.
    Tensor qkv;
    Tensor q, k, v;  // (B, T, Hq, D), (B, T, G, D), (B, T, G, D): after norm and RoPE
    Tensor out;      // (B, T, Hq, D)
    Tensor lse;      // (B, Hq, T)
  };

  SelfAttention(const std::string& name, const AttentionConfig& config);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;    // (B, T, C)
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;  // (B, T, C)
  // Keeps linear_qkv's input, q, k and v (and the q/k norms' inputs and statistics), the output
  // (which linear_proj keeps as its input) and the f32 log-sum-exp. Backward peaks in
  // linear_qkv's, with dq, dk, dv and the output's gradient still alive (the host path: where
  // cuDNN reads q, k, v from the projection in place, dq, dk and dv are never made, so there this
  // is an upper bound). FLOPs: the two projections and the score and value products, over s / 2
  // keys per query under the causal mask, s bidirectionally.
  ModuleCost cost(const CostQuery& query) const override;

 private:
  struct Heads {
    Tensor q, k, v;  // (B, T, Hq / tp, D), and (B, T, G / tp, D) twice
  };
  // The projection qkv split into heads, through the q/k norms and RoPE where the model has them.
  Heads split_heads(const Tensor& qkv, MicroBatchContext& ctx);
  // Incremental inference over this layer's KV cache in ctx.sequence().inference_state
  // (self_attention_decode.cpp).
  Tensor forward_cached(const Tensor& x, MicroBatchContext& ctx);

  // The core attention's parameters for this micro-batch (mask, documents, dropout stream).
  AttentionParams attention_params(const MicroBatchContext& ctx) const;

  AttentionMask mask_;
  int64_t num_heads_;         // this rank's: Hq / tp
  int64_t num_query_groups_;  // G / tp
  // Global index of this rank's first query head (rank * Hq / tp: whole query groups per rank)
  // and Hq, so attention dropout draws the single-rank masks of these heads.
  int64_t first_head_;
  int64_t total_heads_;
  int64_t kv_channels_;
  double attention_dropout_;
  Linear linear_qkv_;                   // C -> (Hq + 2G) * D
  std::unique_ptr<Layer> q_layernorm_;  // over D, per head; null without qk_layernorm
  std::unique_ptr<Layer> k_layernorm_;
  Linear linear_proj_;                     // Hq * D -> C
  std::optional<RotaryEmbedding> rotary_;  // with position_embedding_type: rope
};

}  // namespace me
