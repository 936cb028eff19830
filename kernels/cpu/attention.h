// Host attention (flash-attention contract, plain loops) and the fused-QKV split: the CPU side of
// kernels/attention.h.
#pragma once

#include "engine/core/tensor.h"
#include "kernels/attention.h"

namespace me::cpu {

// Arguments already checked by the me:: entry points.
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params);
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params, Tensor* dbias);

// Byte copies, so any dtype; split_qkv_backward writes every element of dqkv.
void split_qkv_forward(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v);
void split_qkv_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv);

}  // namespace me::cpu
