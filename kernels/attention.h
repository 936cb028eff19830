// Scaled dot-product attention in the flash-attention contract: forward saves only the per-row
// log-sum-exp, backward recomputes probabilities. Layout (B, T, H, D); grouped-query ready.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace me {

// Which keys a query may see before padding and documents: keys at or before its own position
// (GPT; T5's decoder), or every key (BERT; T5's encoder and cross-attention).
enum class AttentionMask { kCausal, kBidirectional };

struct AttentionParams {
  double scale = 1.0;  // usually 1/sqrt(D)
  AttentionMask mask = AttentionMask::kCausal;
  // Positions for the causal mask: query i sits at position q_offset + i, key j at kv_offset + j;
  // causal keeps key j for query i iff kv_offset + j <= q_offset + i (context-parallel ring
  // chunks, a prefill chunk after cached tokens). Both 0: the usual diagonal. Any int64.
  int64_t q_offset = 0;
  int64_t kv_offset = 0;
  // Optional (B) i32: keys j >= kv_lengths[b] of sample b are padding, hidden from every query
  // (BERT/T5 padding masks; per-row lengths of a batched prefill). The values are the caller's
  // to keep in [0, Tk]; the kernels clamp them there so no value reads outside k and v.
  Tensor kv_lengths;
  // Optional (B, Tq) i32 and (B, Tk) i32 document ids (data.reset_attention_mask, flash
  // attention's varlen idea without repacking): query i sees key j only when both carry the same
  // id. kv_document_ids undefined: the keys use document_ids (then Tq must equal Tk).
  Tensor document_ids;
  Tensor kv_document_ids;
  // Optional additive bias (Bb, Hq, Tq, Tk) with Bb = 1 (broadcast over the batch) or B, in q's
  // dtype, added to the scaled scores before the softmax (T5's relative position bias; Hq = this
  // call's heads, i.e. a tensor-parallel rank's slice).
  Tensor bias;
  double dropout_p = 0.0;  // on the probabilities, mask from Philox(seed, stream, index)
  uint64_t seed = 0;
  uint64_t stream = 0;
  // The dropout mask's head numbering: q's heads are heads [head_offset, head_offset + Hq) of
  // total_heads (0: Hq), so a tensor-parallel rank draws the masks the single-rank call draws for
  // its heads. 0 <= head_offset and head_offset + Hq <= total_heads, else me::Error.
  int64_t head_offset = 0;
  int64_t total_heads = 0;
};

// The causal mask as a diagonal shift: query i sees keys j <= i + shift (before padding and
// documents). Causal: q_offset - kv_offset clamped to [-Tq, Tk], which changes no visibility and
// cannot overflow for any int64 offsets; bidirectional: Tk (every key).
int64_t attention_diagonal_shift(const AttentionParams& params, int64_t tq, int64_t tk);

// q: (B, Tq, Hq, D); k, v: (B, Tk, Hkv, D) with Hq % Hkv == 0 (head h reads kv head
// h / (Hq/Hkv)); out: (B, Tq, Hq, D); lse: (B, Hq, Tq) f32 (f64 for f64 inputs). Query i sees key
// j iff j <= i + attention_diagonal_shift, j < kv_lengths[b] and both carry the same document id
// (each where given). Scores are scale q_i.k_j + bias[b or 0, h, i, j]; lse is of those scores
// before dropout. A query row with no visible key gives out = 0, lse = -inf and no gradient.
// Dropout (as torch's scaled_dot_product_attention): probability (b, h, i, j) is kept iff
// philox_uniform(seed, stream, ((b * H + o + h) * Tq + i) * Tk + j) > float(dropout_p), with
// H = params.total_heads (Hq when 0) and o = params.head_offset, then scaled by 1/(1-p); backward
// regenerates the same mask. Every argument is checked here (me::Error naming it).
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params);
// dq, dk, dv are written (not accumulated); so is dbias (optional, shaped like params.bias, which
// it requires), summed over the batch when Bb = 1: d loss / d bias.
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params, Tensor* dbias = nullptr);

// attention_forward / attention_backward for multi-head self-attention (one query head per
// group, Tq = Tk = T) on q, k and v read from the fused projection qkv (B, T, H * 3 * D), laid out
// per head as [q_h | k_h | v_h] (split_qkv below with G = Hq); out (B, T, H, D) gives H and D,
// dqkv (like qkv) is written. Every mask kind, offsets, kv_lengths and bias apply as above.
// cuDNN reads the heads in place, so the split copies go; other paths split (in forward and again
// in backward: callers that keep q, k and v should split once themselves).
void attention_forward_qkv(const Tensor& qkv, Tensor& out, Tensor& lse,
                           const AttentionParams& params);
void attention_backward_qkv(const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& dout, Tensor& dqkv, const AttentionParams& params,
                            Tensor* dbias = nullptr);
// True when attention_forward_qkv reads the heads of qkv in place for an output like `out` (no
// copies); attention_backward_qkv does too unless its dbias needs what cuDNN cannot give.
bool attention_reads_qkv_in_place(const Tensor& qkv, const Tensor& out,
                                  const AttentionParams& params);

// Splits a fused QKV projection (B, T, G * (Hq/G + 2) * D), laid out per query group as Megatron
// does ([q heads of group g | k_g | v_g] for each g), into q (B,T,Hq,D), k and v (B,T,G,D).
// Pure copies, so any dtype; backward writes all of dqkv.
void split_qkv_forward(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v);
void split_qkv_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv);

}  // namespace me
