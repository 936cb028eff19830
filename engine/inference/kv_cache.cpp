// KvCache: lazily allocated per-layer caches and the row lengths the model steps advance.
#include "engine/inference/kv_cache.h"

namespace me {

KvCache::KvCache(int64_t batch, int64_t capacity)
    : batch_(batch), capacity_(capacity), lengths_(static_cast<size_t>(batch), 0) {
  ME_CHECK(batch > 0 && capacity > 0, "KvCache of batch {} and capacity {}", batch, capacity);
}

void KvCache::set_lengths(std::vector<int64_t> lengths) {
  ME_CHECK(static_cast<int64_t>(lengths.size()) == batch_, "{} lengths for a cache of batch {}",
           lengths.size(), batch_);
  for (const int64_t n : lengths) {
    ME_CHECK(n >= 0 && n <= capacity_, "length {} outside the cache of {}", n, capacity_);
  }
  lengths_ = std::move(lengths);
}

KvCache::Entry& KvCache::layer(const void* owner, int64_t groups, int64_t head_dim, DType dtype,
                               Device device) {
  auto it = layers_.find(owner);
  if (it == layers_.end()) {
    const Shape shape = {batch_, capacity_, groups, head_dim};
    it = layers_
             .emplace(owner, Entry{Tensor::zeros(shape, dtype, device),
                                   Tensor::zeros(shape, dtype, device)})
             .first;
  }
  ME_CHECK(it->second.k.dim(2) == groups && it->second.k.dim(3) == head_dim &&
               it->second.k.dtype() == dtype,
           "a layer's cache changed shape or dtype between steps");
  return it->second;
}

}  // namespace me
