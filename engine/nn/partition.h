// Where a tensor-parallel parameter's local shard sits in the full tensor (Megatron's
// partition_dim and partition_stride), so init, gathering and checkpoints see full tensors.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace me {

// Along `dim` the full tensor is `chunks` equal blocks (fused [gate | up] halves: 2), each split
// into `size` equal parts; rank `rank` holds part `rank` of every block, in block order.
// dim -1 (or size 1): the parameter is whole on every rank.
struct Partition {
  int dim = -1;
  int64_t rank = 0;
  int64_t size = 1;
  int64_t chunks = 1;

  bool sharded() const { return dim >= 0 && size > 1; }
  Shape full_shape(const Shape& local) const;
  // The flat index in the full tensor of the local shard's flat element `local_index`.
  int64_t full_index(const Shape& local, int64_t local_index) const;
  // This rank's shard of a full host tensor (any dtype), as a new host tensor.
  Tensor slice(const Tensor& full) const;
};

}  // namespace me
