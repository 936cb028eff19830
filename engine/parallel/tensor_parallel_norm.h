// The global gradient norm under tensor parallelism (Megatron's clip_grad_norm over the model-
// parallel group): sharded parameters contribute every rank's shard, replicated ones (norms,
// row-parallel biases: identical on every tensor-parallel rank) count once.
#pragma once

#include "engine/nn/tensor_parallel.h"
#include "engine/optim/param_buffers.h"

namespace me {

// sqrt of the sum over the full model of squared gradients; collective over tp.comm. The grads
// must be whole on this rank (data-parallel all-reduce done, no optimizer sharding).
double tensor_parallel_grad_norm(const ParamBuffers& buffers, const TensorParallel& tp);

}  // namespace me
