// Element-wise and reduction ops: bias, residual add, scale, fill, sum of squares.
#pragma once

#include "engine/core/tensor.h"

namespace me {

// f32/f64 only. (N, C) means any shape whose last dimension is C.
void add_bias(Tensor& y, const Tensor& bias);             // y (N, C) += bias (C), in place
void bias_backward(const Tensor& dy, Tensor& dbias);      // dbias (C) += sum over rows of dy (N, C)
void add(const Tensor& a, const Tensor& b, Tensor& out);  // out = a + b (same shape)
void add_into(Tensor& out, const Tensor& a);              // out += a
void scale(Tensor& x, double alpha);                      // x *= alpha
void fill(Tensor& x, double value);
// dst = src rounded to dst's float dtype (same shape; e.g. the bf16 model copy of fp32 weights).
void cast_into(const Tensor& src, Tensor& dst);
double sum_of_squares(const Tensor& x);  // accumulated in f64, in a fixed order
bool all_finite(const Tensor& x);

}  // namespace me
