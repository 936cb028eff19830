// Host element-wise ops and reductions: the CPU side of kernels/elementwise.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cpu {

// Arguments already checked by the me:: entry points; tensors are contiguous, f32 or f64.
void add_bias(Tensor& y, const Tensor& bias);         // y (N, C) += bias (C)
void bias_backward(const Tensor& dy, Tensor& dbias);  // dbias (C) += column sums of dy (N, C)
void add(const Tensor& a, const Tensor& b, Tensor& out);
void add_into(Tensor& out, const Tensor& a);
void scale(Tensor& x, double alpha);
void fill(Tensor& x, double value);
double sum_of_squares(const Tensor& x);
bool all_finite(const Tensor& x);

}  // namespace me::cpu
