// Where a stored or wanted checkpoint tensor sits in its parameter's full tensor: the
// tensor-parallel shard (Partition) and, for distributed-optimizer pieces, an element range of it.
// Any two placements of one parameter meet in the full tensor's flat index space.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/nn/partition.h"

namespace me {

struct Placement {
  Shape global_shape;   // the full, unsharded tensor
  Partition partition;  // which tensor-parallel shard of it (whole by default)
  int64_t begin = 0;    // the elements [begin, end) of that shard, in its row-major order
  int64_t end = 0;

  // The whole shard `partition` of `global_shape`.
  static Placement whole(const Shape& global_shape, const Partition& partition = {});
  Shape local_shape() const;  // the shard's shape
  int64_t size() const { return end - begin; }
};

// A tensor to write: `host` (f32, on the host) holds the elements [begin, end) of the shard
// `placement` describes, shaped as the shard when it holds all of it, else 1-D.
struct StoredTensor {
  std::string name;
  Tensor host;
  Placement placement;
};

// Elements held contiguously in both orders: `length` elements from position `held` of the held
// range [begin, end) (0 is `begin`) and from flat index `global` of the full tensor.
struct Run {
  int64_t held = 0;
  int64_t global = 0;
  int64_t length = 0;
};

// The placement's elements as runs in increasing held order (one per (outer index, block) part of
// a sharded dimension, merged where they continue each other in the full tensor).
std::vector<Run> placement_runs(const Placement& placement);

// One copy from a source's held range into a target's: `length` elements.
struct Copy {
  int64_t from = 0;  // position in the source's held range
  int64_t to = 0;    // position in the target's held range
  int64_t length = 0;
};

// Where each element of `target` comes from among `sources` (placements of the same full tensor,
// which may overlap: a replicated or tied tensor is stored more than once): copies per source, in
// increasing `from` order with neighbours merged, each element taken once.
struct CopyPlan {
  std::vector<std::vector<Copy>> per_source;
  int64_t missing = 0;         // target elements no source holds
  int64_t first_missing = -1;  // the first of them as a flat index of the full tensor
};
CopyPlan plan_copies(const Placement& target, const std::vector<Placement>& sources);

// Contiguous boxes of a row-major array of `shape` that together are its flat elements
// [begin, begin + count), in order: the hyperslabs a flat range of an N-d dataset reads as.
struct Box {
  std::vector<int64_t> start;
  std::vector<int64_t> count;
  int64_t numel() const { return shape_numel(count); }
};
std::vector<Box> flat_range_boxes(const Shape& shape, int64_t begin, int64_t count);

}  // namespace me
