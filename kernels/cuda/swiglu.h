// CUDA SwiGLU ([gate | up] rows, out = silu(gate) * up): the CUDA side of kernels/swiglu.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points; f32, bf16 or f16 storage, f32 arithmetic.
void swiglu_forward(const Tensor& x, Tensor& out);
void swiglu_backward(const Tensor& x, const Tensor& dout, Tensor& dx);

}  // namespace me::cuda
