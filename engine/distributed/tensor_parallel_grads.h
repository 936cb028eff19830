// Gradients that are partial sums over the tensor-parallel group (Megatron's finalize_model_grads:
// the allreduce of sequence-parallel grads and of the q/k layernorm grads): the parameters whose
// module declared them TensorParallelRelation::kPartial (parameter.h). The group sums those before
// clipping and the optimizer, so replicas stay equal.
#pragma once

#include <vector>

#include "engine/nn/parameter.h"
#include "engine/nn/tensor_parallel.h"

namespace me {

// Sums the partial gradients over tp.comm in one collective (nothing at tp 1 or without any).
// Collective.
void all_reduce_tensor_parallel_grads(const std::vector<Parameter*>& params,
                                      const TensorParallel& tp);

}  // namespace me
