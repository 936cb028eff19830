// Which part of the flat buffers one data-parallel rank's optimizer owns: all of it, or with the
// distributed optimizer (ZeRO-1) the rank's equal, contiguous slice of every bucket.
#pragma once

#include <cstdint>
#include <utility>

#include "engine/optim/param_layout.h"

namespace me {

struct OptimizerShard {
  int64_t rank = 0;  // data-parallel rank
  int64_t size = 1;  // data-parallel ranks sharing the state; 1 = the whole buffer
  bool operator==(const OptimizerShard&) const = default;
};

// Rank `shard.rank`'s [begin, end) of bucket `bucket` (bucket ends are padded so it divides).
std::pair<int64_t, int64_t> bucket_shard(const ParamLayout& layout, int64_t bucket,
                                         const OptimizerShard& shard);

// Elements this rank's optimizer state holds: total_elems / shard.size.
int64_t shard_elems(const ParamLayout& layout, const OptimizerShard& shard);

// Where bucket `bucket`'s shard starts in the rank's state tensors (its shards are concatenated).
int64_t shard_state_offset(const ParamLayout& layout, int64_t bucket, const OptimizerShard& shard);

}  // namespace me
