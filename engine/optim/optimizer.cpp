// update_runs: the contiguous same-weight-decay ranges an optimizer step walks.
#include "engine/optim/optimizer.h"

namespace me {

std::vector<UpdateRun> update_runs(const ParamLayout& layout) {
  std::vector<UpdateRun> runs;
  for (const ParamSlot& slot : layout.slots) {
    if (slot.param->numel() == 0) continue;
    const int64_t end = slot.offset + slot.param->numel();
    if (!runs.empty() && runs.back().weight_decay == slot.param->weight_decay) {
      runs.back().end = end;
    } else {
      runs.push_back({slot.offset, end, slot.param->weight_decay});
    }
  }
  return runs;
}

}  // namespace me
