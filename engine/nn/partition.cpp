// Index arithmetic of a partition: a flat index splits into (outer, along dim, inner), and only
// the coordinate along dim moves between the shard and the full tensor.
#include "engine/nn/partition.h"

#include <cstring>

#include "engine/core/error.h"

namespace me {

Shape Partition::full_shape(const Shape& local) const {
  if (!sharded()) return local;
  ME_CHECK(dim < static_cast<int>(local.size()), "partition dim {} of shape {}", dim,
           shape_str(local));
  Shape full = local;
  full[static_cast<size_t>(dim)] *= size;
  return full;
}

int64_t Partition::full_index(const Shape& local, int64_t local_index) const {
  if (!sharded()) return local_index;
  int64_t inner = 1;
  for (size_t i = static_cast<size_t>(dim) + 1; i < local.size(); ++i) inner *= local[i];
  const int64_t along = local[static_cast<size_t>(dim)];
  ME_CHECK(along % chunks == 0, "shard length {} is not {} chunks", along, chunks);
  const int64_t outer = local_index / (along * inner);
  const int64_t d = local_index / inner % along;
  const int64_t in = local_index % inner;
  const int64_t part = along / chunks;  // one block's share on one rank
  const int64_t full_d = d / part * part * size + rank * part + d % part;
  return (outer * along * size + full_d) * inner + in;
}

Tensor Partition::slice(const Tensor& full) const {
  if (!sharded()) return full.clone();
  Shape local = full.shape();
  ME_CHECK(local[static_cast<size_t>(dim)] % (size * chunks) == 0,
           "dimension {} of {} does not split into {} x {} parts", dim, full.describe(), size,
           chunks);
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
