// Gradients that are partial sums over the tensor-parallel group (Megatron's finalize_model_grads:
// the allreduce of sequence-parallel grads and of the q/k layernorm grads). A parameter whole on
// every tp rank whose inputs are split over the ranks gets only this rank's share: under sequence
// parallelism every one of them (norms, row-parallel biases and learned positions see this rank's
// tokens), and at any tp > 1 the q/k layernorm weights (they see this rank's heads). The group
// sums those before clipping and the optimizer, so replicas stay equal.
#pragma once

#include <vector>

#include "engine/nn/parameter.h"
#include "engine/nn/tensor_parallel.h"

namespace me {

// Whether `param`'s gradient on this rank is its share of the sum described above.
bool partial_over_tensor_parallel(const Parameter& param, const TensorParallel& tp);

// Sums the partial gradients over tp.comm in one collective (nothing at tp 1). Collective.
void all_reduce_tensor_parallel_grads(const std::vector<Parameter*>& params,
                                      const TensorParallel& tp);

}  // namespace me
