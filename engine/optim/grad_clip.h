// Global gradient-norm clipping over the flat gradient buffer (Megatron's clip_grads.py); the
// norm itself is engine/distributed/grad_norm.h's, over every group and rank.
#pragma once

#include "engine/optim/param_buffers.h"

namespace me {

// Scales the gradients by clip_grad / (total_norm + 1e-6) when that is below 1; leaves them alone
// otherwise and when clip_grad <= 0 (clipping off).
void clip_grads(ParamBuffers& buffers, double clip_grad, double total_norm);

}  // namespace me
