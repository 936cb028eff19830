// LayerNorm over the last dimension: y = (x - mean) * rstd * weight + bias.
#pragma once

#include "engine/core/tensor.h"

namespace me {

// x, y: (N, C) (leading dimensions flattened into N); weight, bias: (C); mean, rstd: (N) saved
// for backward (f32, or f64 for f64 x). Biased variance, rstd = 1/sqrt(var + eps) (torch).
void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd);
// dx is written; dweight and dbias accumulate (+=).
void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, Tensor& dx, Tensor& dweight, Tensor& dbias);

}  // namespace me
