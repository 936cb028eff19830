// CUDA RMSNorm (a warp per row; weight grad by fixed-order column sums): the CUDA side of
// kernels/rmsnorm.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points; f32, bf16 or f16 storage, f32 arithmetic.
// residual undefined: the norm of x (added unused); else of x + residual, written to added.
void rmsnorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps,
                     Tensor& added, Tensor& y, Tensor& rstd);
void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                      const Tensor& residual_grad, Tensor& dx, Tensor& dweight);

}  // namespace me::cuda
