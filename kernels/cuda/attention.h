// CUDA attention in the flash contract (cuDNN where it applies, else our tiled kernels) and the
// fused-QKV split: the CUDA side of kernels/attention.h.
#pragma once

#include "engine/core/tensor.h"
#include "kernels/attention.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points; f32, bf16 or f16 storage (lse f32), head
// dim at most 128. cuDNN runs the call when cudnn_attention_applies (attention_cudnn.h), the
// tiled kernels below otherwise.
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params);
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params, Tensor* dbias);

// Our FlashAttention-2-style tiled kernels alone, whatever cuDNN could do: every feature of
// AttentionParams, and the second implementation the parity tests hold cuDNN against.
void attention_forward_tiled(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                             Tensor& lse, const AttentionParams& params);
void attention_backward_tiled(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv, const AttentionParams& params, Tensor* dbias);

// Element copies, any dtype of 2, 4 or 8 bytes.
void split_qkv_forward(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v);
void split_qkv_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv);

}  // namespace me::cuda
