// GeLU, tanh approximation (GPT-2, Megatron's fused bias-GeLU):
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#pragma once

#include "engine/core/tensor.h"

namespace me {

// f32/f64, any shape.
void gelu_forward(const Tensor& x, Tensor& y);
void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx);  // dx written

}  // namespace me
