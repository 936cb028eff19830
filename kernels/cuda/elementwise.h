// CUDA element-wise ops and deterministic reductions: the CUDA side of kernels/elementwise.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points; f32, bf16 or f16 storage, f32 arithmetic.
void add_bias(Tensor& y, const Tensor& bias);
void bias_backward(const Tensor& dy, Tensor& dbias);  // fixed-order column sums, no atomics
void add(const Tensor& a, const Tensor& b, Tensor& out);
void add_into(Tensor& out, const Tensor& a);
void scale(Tensor& x, double alpha);
void fill(Tensor& x, double value);
void cast(const Tensor& src, Tensor& dst);  // dst = src rounded to dst's dtype
double sum_of_squares(const Tensor& x);  // two-pass block reduction in f64, fixed order
bool all_finite(const Tensor& x);

}  // namespace me::cuda
