// RMSNorm over the last dimension (Llama): y = x * rstd * weight, rstd = 1/sqrt(mean(x^2) + eps).
#pragma once

#include "engine/core/tensor.h"

namespace me {

// x, y: (N, C) (leading dimensions flattened into N); weight: (C); rstd: (N) saved for backward
// (x's dtype: f32, or f64 for f64 x). Matches torch / transformers' LlamaRMSNorm.
void rmsnorm_forward(const Tensor& x, const Tensor& weight, double eps, Tensor& y, Tensor& rstd);
// The residual add fused in front: added = x + residual (the residual stream's next value, x's
// dtype) and y = RMSNorm(added), in one pass over the rows on CUDA.
void add_rmsnorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps,
                         Tensor& added, Tensor& y, Tensor& rstd);
// dx is written; dweight accumulates (+=). A defined residual_grad (N, C) is added to dx (the
// gradient of a residual connection around the norm, fused into the same pass).
void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                      Tensor& dx, Tensor& dweight, const Tensor& residual_grad = Tensor());

}  // namespace me
