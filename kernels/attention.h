// Scaled dot-product attention in the flash-attention contract: forward saves only the per-row
// log-sum-exp, backward recomputes probabilities. Layout (B, T, H, D); grouped-query ready.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace me {

enum class AttentionMask { kCausal, kBidirectional };

struct AttentionParams {
  double scale = 1.0;  // usually 1/sqrt(D)
  bool causal = true;
  double dropout_p = 0.0;  // on the probabilities, mask from Philox(seed, stream, index)
  uint64_t seed = 0;
  uint64_t stream = 0;
  // The dropout mask's head numbering: q's heads are heads [head_offset, head_offset + Hq) of
  // total_heads (0: Hq), so a tensor-parallel rank draws the masks the single-rank call draws for
  // its heads. 0 <= head_offset and head_offset + Hq <= total_heads, else me::Error.
  int64_t head_offset = 0;
  int64_t total_heads = 0;
  // Optional (B, T) i32 document id per token (data.reset_attention_mask, flash-attention's varlen
  // idea without repacking): query i sees key j only when both carry the same id. Undefined (the
  // default) means one document per sequence. Each query always sees itself, so no row is empty.
  Tensor document_ids;
};

// q: (B, T, Hq, D); k, v: (B, T, Hkv, D) with Hq % Hkv == 0 (head h reads kv head h / (Hq/Hkv));
// out: (B, T, Hq, D); lse: (B, Hq, T) f32 (f64 for f64 inputs). Self-attention: queries and keys
// share T. Causal: query i sees keys j <= i; with params.document_ids also only keys of its own
// document. lse is of the scaled scores before dropout. Dropout
// (as torch's scaled_dot_product_attention): probability (b, h, i, j) is kept iff
// philox_uniform(seed, stream, ((b * H + o + h) * T + i) * T + j) > float(dropout_p), with
// H = params.total_heads (Hq when 0) and o = params.head_offset, then scaled by 1/(1-p); backward
// regenerates the same mask.
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params);
// dq, dk, dv are written (not accumulated).
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params);

// attention_forward / attention_backward for multi-head attention (one query head per group) on
// q, k and v read from the fused projection qkv (B, T, H * 3 * D), laid out per head as
// [q_h | k_h | v_h] (split_qkv below with G = Hq); out (B, T, H, D) gives H and D, dqkv (like qkv)
// is written. cuDNN reads the heads in place, so the split copies go; other paths split (in
// forward and again in backward: callers that keep q, k and v should split once themselves).
void attention_forward_qkv(const Tensor& qkv, Tensor& out, Tensor& lse,
                           const AttentionParams& params);
void attention_backward_qkv(const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& dout, Tensor& dqkv, const AttentionParams& params);
// True when the two above read the heads of qkv in place for an output like `out` (no copies).
bool attention_reads_qkv_in_place(const Tensor& qkv, const Tensor& out,
                                  const AttentionParams& params);

// Splits a fused QKV projection (B, T, G * (Hq/G + 2) * D), laid out per query group as Megatron
// does ([q heads of group g | k_g | v_g] for each g), into q (B,T,Hq,D), k and v (B,T,G,D).
// Pure copies, so any dtype; backward writes all of dqkv.
void split_qkv_forward(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v);
void split_qkv_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv);

}  // namespace me
