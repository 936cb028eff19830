// Host GeLU (tanh approximation): the CPU side of kernels/gelu.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cpu {

// Arguments already checked by the me:: entry points; element-wise over any shape.
void gelu_forward(const Tensor& x, Tensor& y);
void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx);

}  // namespace me::cpu
