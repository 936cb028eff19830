// cuBLASLt GEMMs with epilogues: the CUDA side of kernels/linear.h. Each returns false, having
// done nothing, when cuBLASLt offers no algorithm for the shape (the caller then runs the
// unfused ops).
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points; bias may be undefined.
bool linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y);
bool linear_gelu_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& pre,
                         Tensor& y);
bool linear_gelu_backward_input(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dx);
bool linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& dbias);

}  // namespace me::cuda
