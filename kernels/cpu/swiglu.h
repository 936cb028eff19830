// Host SwiGLU loops: the CPU side of kernels/swiglu.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cpu {

// Arguments already checked by the me:: entry points; x viewed as (N, 2F), out as (N, F).
void swiglu_forward(const Tensor& x, Tensor& out);
void swiglu_backward(const Tensor& x, const Tensor& dout, Tensor& dx);

}  // namespace me::cpu
