// Bucket shards of the distributed optimizer (Megatron's DistributedOptimizer ranges).
#include "engine/optim/optimizer_shard.h"

#include "engine/core/error.h"

namespace me {

std::pair<int64_t, int64_t> bucket_shard(const ParamLayout& layout, int64_t bucket,
                                         const OptimizerShard& shard) {
  const auto [begin, end] = layout.buckets.at(static_cast<size_t>(bucket));
  ME_CHECK((end - begin) % shard.size == 0, "bucket {} of {} elements does not split over {} ranks",
           bucket, end - begin, shard.size);
  const int64_t size = (end - begin) / shard.size;
  return {begin + shard.rank * size, begin + (shard.rank + 1) * size};
}

int64_t shard_elems(const ParamLayout& layout, const OptimizerShard& shard) {
  return layout.total_elems / shard.size;
}

int64_t shard_state_offset(const ParamLayout& layout, int64_t bucket, const OptimizerShard& shard) {
  return layout.buckets.at(static_cast<size_t>(bucket)).first / shard.size;
}

}  // namespace me
