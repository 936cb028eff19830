// Index arithmetic of a partition: a flat index splits into (outer, along dim, inner), and only
// the coordinate along dim moves between the shard and the full tensor, block by block.
#include "engine/nn/partition.h"

#include <cstring>

#include "engine/core/error.h"

namespace me {

std::vector<int64_t> equal_blocks(int64_t count, int64_t full_length) {
  ME_CHECK(count >= 1 && full_length % count == 0, "{} elements do not make {} equal blocks",
           full_length, count);
  return std::vector<int64_t>(static_cast<size_t>(count), full_length / count);
}

std::vector<int64_t> Partition::block_lengths(int64_t full_length) const {
  const std::vector<int64_t> lengths = blocks.empty() ? std::vector<int64_t>{full_length} : blocks;
  int64_t total = 0;
  for (int64_t length : lengths) {
    ME_CHECK(length >= 0 && length % size == 0, "block of {} does not split into {} parts", length,
             size);
    total += length;
  }
  ME_CHECK(total == full_length, "blocks of {} elements in total along a dimension of {}", total,
           full_length);
  return lengths;
}

Shape Partition::full_shape(const Shape& local) const {
  if (!sharded()) return local;
  ME_CHECK(dim < static_cast<int>(local.size()), "partition dim {} of shape {}", dim,
           shape_str(local));
  Shape full = local;
  full[static_cast<size_t>(dim)] *= size;
  block_lengths(full[static_cast<size_t>(dim)]);
  return full;
}

int64_t Partition::full_index(const Shape& local, int64_t local_index) const {
  if (!sharded()) return local_index;
  int64_t inner = 1;
  for (size_t i = static_cast<size_t>(dim) + 1; i < local.size(); ++i) inner *= local[i];
  const int64_t along = local[static_cast<size_t>(dim)];
  const int64_t outer = local_index / (along * inner);
  const int64_t d = local_index / inner % along;
  const int64_t in = local_index % inner;
  // Walk the blocks: this rank holds `length / size` of each, at `rank` parts into the block.
  int64_t full_d = -1;
  if (blocks.empty()) {
    full_d = rank * along + d;
  } else {
    int64_t local_begin = 0, full_begin = 0;
    for (int64_t length : blocks) {
      const int64_t part = length / size;
      if (full_d < 0 && d < local_begin + part) full_d = full_begin + rank * part + d - local_begin;
      local_begin += part;
      full_begin += length;
    }
    ME_CHECK(local_begin == along && full_begin == along * size,
             "blocks of {} elements in total for a shard {} long over {} ranks", full_begin, along,
             size);
  }
  return (outer * along * size + full_d) * inner + in;
}

Tensor Partition::slice(const Tensor& full) const {
  if (!sharded()) return full.clone();
  Shape local = full.shape();
  ME_CHECK(dim < static_cast<int>(local.size()) && local[static_cast<size_t>(dim)] % size == 0,
           "dimension {} of {} does not split into {} parts", dim, full.describe(), size);
  block_lengths(local[static_cast<size_t>(dim)]);
  local[static_cast<size_t>(dim)] /= size;
  Tensor out = Tensor::empty(local, full.dtype());
  const size_t elem = dtype_size(full.dtype());
  const auto* src = static_cast<const char*>(full.raw_data());
  auto* dst = static_cast<char*>(out.raw_data());
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::memcpy(dst + static_cast<size_t>(i) * elem,
                src + static_cast<size_t>(full_index(local, i)) * elem, elem);
  }
  return out;
}

}  // namespace me
