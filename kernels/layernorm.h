// LayerNorm over the last dimension: y = (x - mean) * rstd * weight + bias.
#pragma once

#include "engine/core/tensor.h"

namespace me {

// x, y: (N, C) (leading dimensions flattened into N); weight, bias: (C); mean, rstd: (N) saved
// for backward (f32, or f64 for f64 x). Biased variance, rstd = 1/sqrt(var + eps) (torch).
void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd);
// The residual add fused in front: added = x + residual (the residual stream's next value, x's
// dtype) and y = LayerNorm(added), in one pass over the rows on CUDA.
void add_layernorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight,
                           const Tensor& bias, double eps, Tensor& added, Tensor& y, Tensor& mean,
                           Tensor& rstd);
// dx is written; dweight and dbias accumulate (+=). A defined residual_grad (N, C) is added to
// dx: the gradient of a residual connection around the norm, fused into the same pass.
void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, Tensor& dx, Tensor& dweight, Tensor& dbias,
                        const Tensor& residual_grad = Tensor());

}  // namespace me
