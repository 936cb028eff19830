// update_runs: the contiguous same-weight-decay ranges an optimizer step walks.
#include "engine/optim/optimizer.h"

#include <algorithm>

namespace me {

std::vector<UpdateRun> update_runs(const ParamLayout& layout, const OptimizerShard& shard) {
  std::vector<UpdateRun> runs;
  for (const ParamSlot& slot : layout.slots) {
    if (slot.param->numel() == 0) continue;
    const auto [own_begin, own_end] = bucket_shard(layout, slot.bucket, shard);
    const int64_t begin = std::max(slot.offset, own_begin);
    const int64_t end = std::min(slot.offset + slot.param->numel(), own_end);
    if (begin >= end) continue;
    const int64_t state_begin =
        shard_state_offset(layout, slot.bucket, shard) + (begin - own_begin);
    // Merge only where buffer and state stay in step (never across a shard boundary).
    if (!runs.empty() && runs.back().weight_decay == slot.param->weight_decay &&
        runs.back().begin - runs.back().state_begin == begin - state_begin) {
      runs.back().end = end;
    } else {
      runs.push_back({begin, end, slot.param->weight_decay, state_begin});
    }
  }
  return runs;
}

}  // namespace me
