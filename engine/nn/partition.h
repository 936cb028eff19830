// Where a tensor-parallel parameter's local shard sits in the full tensor (Megatron's
// partition_dim and partition_stride), so init, gathering and checkpoints see full tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"

namespace me {

// Along `dim` the full tensor is a row of fused blocks (`blocks`: their full lengths, in order;
// empty: one block), each split into `size` equal parts; rank `rank` holds part `rank` of every
// block, in block order. SwiGLU's [gate | up] is two equal blocks, Mamba's in_proj
// [z | x | B | C | dt] five unequal ones. dim -1 (or size 1): the parameter is whole on every rank.
struct Partition {
  int dim = -1;
  int64_t rank = 0;
  int64_t size = 1;
  std::vector<int64_t> blocks;

  bool sharded() const { return dim >= 0 && size > 1; }
  Shape full_shape(const Shape& local) const;
  // The flat index in the full tensor of the local shard's flat element `local_index`.
  int64_t full_index(const Shape& local, int64_t local_index) const;
  // This rank's shard of a full host tensor (any dtype), as a new host tensor.
  Tensor slice(const Tensor& full) const;
  // The blocks' full lengths when the full tensor is `full_length` long along dim (one block of
  // it when `blocks` is empty); an internal error unless they add up to it and each splits into
  // `size` parts.
  std::vector<int64_t> block_lengths(int64_t full_length) const;
};

// `count` equal blocks of a dimension `full_length` long (SwiGLU's fc1: 2).
std::vector<int64_t> equal_blocks(int64_t count, int64_t full_length);

}  // namespace me
