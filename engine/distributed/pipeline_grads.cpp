// The tied gradients are summed in their own dtype, where they live (tensor_collectives.h).
#include "engine/distributed/pipeline_grads.h"

#include <algorithm>

namespace me {

void all_reduce_tied_grads(const std::vector<Parameter*>& params,
                           const GroupCommunicators& embedding) {
  if (embedding.size() == 1) return;
  std::vector<Parameter*> tied;
  for (Parameter* p : params) {
    if (p->tied.tied()) tied.push_back(p);
  }
  std::sort(tied.begin(), tied.end(),
            [](const Parameter* a, const Parameter* b) { return a->tied.key < b->tied.key; });
  for (Parameter* p : tied) all_reduce_sum(p->grad, embedding);
}

}  // namespace me
