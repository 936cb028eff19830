// Linear-layer GEMMs with their element-wise neighbours fused: bias add, tanh GeLU (and its
// derivative) and the bias gradient. CUDA runs cuBLASLt epilogues; the CPU, and CUDA shapes the
// epilogues do not take, run the same math as separate matmul / add_bias / gelu / bias_backward
// ops.
#pragma once

#include "engine/core/tensor.h"

namespace me {

// y (N, M) = x (N, K) w (M, K)^T + bias (M); an undefined bias adds nothing. y in x's dtype.
void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y);

// pre (N, M) = x w^T + bias and y = gelu(pre): the GeLU input is kept for the backward.
void linear_gelu_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& pre,
                         Tensor& y);

// The input gradient of a linear whose input was gelu(pre): dx (N, K) = gelu'(pre) * (dy w),
// dy (N, M), w (M, K), pre (N, K).
void linear_gelu_backward_input(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dx);

// dw (M, K) += dy^T x and, when dbias is defined, dbias (M) += the column sums of dy. dw and
// dbias are accumulation-dtype gradients (f32 for half inputs).
void linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& dbias);

}  // namespace me
