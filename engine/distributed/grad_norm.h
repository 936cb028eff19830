// The global gradient norm (Megatron's get_grad_norm_fp32) over every parameter group, from what
// each parameter's module declared: a tensor-parallel shard counts on every rank, a replicated or
// partial parameter (the same gradient on every tp rank, once summed) 1/tp on each, a tied copy
// only where it is the owner; the squares are summed over the tensor- and pipeline-parallel
// groups and, per parameter group, over the ranks holding different parts of it.
#pragma once

#include <vector>

#include "engine/core/tensor.h"
#include "engine/nn/parameter.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/parallel/communicator.h"

namespace me {

// One parameter group as the norm sees it, after its gradients were reduced.
struct GradNormGroup {
  std::vector<Parameter*> params;  // forward order: the order squares are added in
  // The group's whole flat gradient buffer (padding zero), or null. Where every parameter counts
  // exactly once on this rank the norm takes its squares in one pass over it.
  const Tensor* flat_grads = nullptr;
  // The ranks (beyond tp and pp) holding other parts of the group, whose squares add up: the
  // group's data-parallel group under the distributed optimizer (each rank its shard of every
  // bucket, the rest zero), then one whose ranks hold other parameters of the group (expert
  // parallelism); null where there is none.
  Communicator* shards = nullptr;
  Communicator* disjoint = nullptr;
};

// sqrt of the whole model's sum of squared gradients. Collective over tp.comm, `pipeline` and
// each group's shards and disjoint groups. The groups' sums travel together over tp and pipeline,
// so one group's sum is added in the same order for any number of groups.
double global_grad_norm(const std::vector<GradNormGroup>& groups, const TensorParallel& tp,
                        Communicator& pipeline);

}  // namespace me
