// cuDNN fused flash attention for bf16/f16 (kernels/cuda/attention_cudnn.cu): the CUDA attention
// entry points hand a call here when cudnn_attention_applies, else run our own tiled kernels.
#pragma once
#include "engine/core/tensor.h"
#include "kernels/attention.h"

namespace me::cuda {

// bf16/f16, no dropout, no document mask, head dim a multiple of 8 up to 128.
bool cudnn_attention_applies(const Tensor& q, const AttentionParams& params);
void cudnn_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                             Tensor& lse, const AttentionParams& params);
void cudnn_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv, const AttentionParams& params);
// The same on q, k and v read in place from the fused (B, T, H, 3, D) projection of multi-head
// attention (kernels/attention.h attention_forward_qkv); dqkv is written in that layout.
void cudnn_attention_forward_qkv(const Tensor& qkv, Tensor& out, Tensor& lse,
                                 const AttentionParams& params);
void cudnn_attention_backward_qkv(const Tensor& qkv, const Tensor& out, const Tensor& lse,
                                  const Tensor& dout, Tensor& dqkv, const AttentionParams& params);

}  // namespace me::cuda
