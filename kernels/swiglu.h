// SwiGLU activation in Megatron's gated-linear-unit layout: the fc1 output row is [gate | up]
// and out = silu(gate) * up, silu(g) = g * sigmoid(g).
#pragma once

#include "engine/core/tensor.h"

namespace me {

// x: (N, 2F) (leading dimensions flattened into N) = [gate (F) | up (F)] per row; out: (N, F).
void swiglu_forward(const Tensor& x, Tensor& out);
// dx (N, 2F) is written: [dgate | dup].
void swiglu_backward(const Tensor& x, const Tensor& dout, Tensor& dx);

}  // namespace me
