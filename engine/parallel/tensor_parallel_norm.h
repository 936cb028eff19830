// The global gradient norm under tensor parallelism (Megatron's clip_grad_norm over the model-
// parallel group): sharded parameters contribute every rank's shard, replicated ones (norms,
// row-parallel biases: identical on every tensor-parallel rank) count once. Under the distributed
// optimizer each data-parallel rank adds the squares of its shard.
#pragma once

#include "engine/nn/tensor_parallel.h"
#include "engine/optim/param_buffers.h"

namespace me {

// sqrt of the sum over the full model of squared gradients; collective over tp.comm. The grads
// must be whole on this rank (data-parallel all-reduce done), or with the distributed optimizer
// this rank's reduce-scattered shards with the rest zero: `shards` is then the data-parallel
// group the shards are summed over (collective over it too).
double tensor_parallel_grad_norm(const ParamBuffers& buffers, const TensorParallel& tp,
                                 Communicator* shards = nullptr);

}  // namespace me
