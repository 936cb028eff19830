// CUDA GeLU (tanh approximation): the CUDA side of kernels/gelu.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points; f32, bf16 or f16 storage, f32 arithmetic.
void gelu_forward(const Tensor& x, Tensor& y);
void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx);

}  // namespace me::cuda
