// Gradient bookkeeping of pipeline parallelism (Megatron's finalize_model_grads): a tensor held as
// copies on several stages (TiedCopies: the first stage's word embeddings and the last stage's
// copy for the tied LM head) gets the sum of every copy's gradient, so the copies stay equal.
#pragma once

#include <vector>

#include "engine/nn/parameter.h"
#include "engine/parallel/tensor_collectives.h"

namespace me {

// In place over `embedding` (ParallelGroups::embedding and its device twin): the gradient of
// every tied parameter becomes the sum over the stages holding a copy, one collective per key in
// key order (both stages hold the same keys). A no-op in a group of one (middle stages, pp 1) and
// where nothing is tied; collective over the group otherwise.
void all_reduce_tied_grads(const std::vector<Parameter*>& params,
                           const GroupCommunicators& embedding);

}  // namespace me
