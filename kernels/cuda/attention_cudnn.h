// cuDNN fused flash attention for bf16/f16 (kernels/cuda/attention_cudnn.cu): the CUDA attention
// entry points hand a call here when cudnn_attention_applies, else run our own tiled kernels.
#pragma once
#include "engine/core/tensor.h"
#include "kernels/attention.h"

namespace me::cuda {

// Whether cuDNN runs attention of q (B, Tq, Hq, D) over k (B, Tk, Hkv, D) with these params (a
// backward that writes dbias when `writes_dbias`); exactly when:
//  - q is bf16 or f16, its head dim a multiple of 8 up to 128;
//  - no dropout and no document ids (their masks follow our rules, which the CPU shares);
//  - Tq >= 2 and Tk >= 1 (cuDNN's one-query decode mode takes no mask before 9.10, and its
//    backward refuses Tq = Tk = 1);
//  - causal only with a diagonal shift >= 0: cuDNN's top-left band takes a right bound >= 0, and
//    a negative shift leaves rows with no key;
//  - dbias only for a bias broadcast over the batch (Bb = 1): cuDNN's dBias is (1, H, Tq, Tk).
// Bidirectional, Tq != Tk, kv_lengths (cuDNN's padding mask) and any bias otherwise apply.
bool cudnn_attention_applies(const Tensor& q, const Tensor& k, const AttentionParams& params,
                             bool writes_dbias = false);
void cudnn_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                             Tensor& lse, const AttentionParams& params);
void cudnn_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv, const AttentionParams& params, Tensor* dbias);
// The same on q, k and v read in place from the fused (B, T, H, 3, D) projection of multi-head
// attention (kernels/attention.h attention_forward_qkv); dqkv is written in that layout.
void cudnn_attention_forward_qkv(const Tensor& qkv, Tensor& out, Tensor& lse,
                                 const AttentionParams& params);
void cudnn_attention_backward_qkv(const Tensor& qkv, const Tensor& out, const Tensor& lse,
                                  const Tensor& dout, Tensor& dqkv, const AttentionParams& params,
                                  Tensor* dbias);

}  // namespace me::cuda
