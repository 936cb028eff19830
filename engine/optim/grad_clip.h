// Global gradient-norm clipping over the flat gradient buffer (Megatron's clip_grads.py).
#pragma once

#include "engine/optim/param_buffers.h"

namespace me {

// Sum of squares of the whole gradient buffer, accumulated in f64 (padding is zero and adds
// nothing). Ranks all-reduce this value (SUM) before taking the square root.
double grad_sum_of_squares(ParamBuffers& buffers);

// The local L2 norm: sqrt(grad_sum_of_squares).
double grad_norm(ParamBuffers& buffers);

// Scales the gradients by clip_grad / (total_norm + 1e-6) when that is below 1; leaves them alone
// otherwise and when clip_grad <= 0 (clipping off).
void clip_grads(ParamBuffers& buffers, double clip_grad, double total_norm);

}  // namespace me
