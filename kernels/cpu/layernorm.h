// Host LayerNorm (llm.c's layernorm_forward/backward loops): the CPU side of kernels/layernorm.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cpu {

// Arguments already checked by the me:: entry points; x viewed as (N, C).
void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd);
void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, Tensor& dx, Tensor& dweight, Tensor& dbias);

}  // namespace me::cpu
