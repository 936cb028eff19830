// Key/value caches of a batch of sequences for incremental decoding: one (B, S, G, D) pair per
// attention layer, and how many tokens each row holds (where the next step's tokens go).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/core/tensor.h"

namespace me {

class KvCache {
 public:
  struct Entry {
    Tensor k, v;  // (B, S, G, D)
  };

  // batch rows of up to `capacity` positions each (S).
  KvCache(int64_t batch, int64_t capacity);

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }

  // Tokens cached per row: the next step's token i of row b sits at position lengths()[b] + i.
  const std::vector<int64_t>& lengths() const { return lengths_; }
  void set_lengths(std::vector<int64_t> lengths);

  // The caches of one attention layer (keyed by its address), allocated zeroed on first use.
  Entry& layer(const void* owner, int64_t groups, int64_t head_dim, DType dtype, Device device);

 private:
  int64_t batch_;
  int64_t capacity_;
  std::vector<int64_t> lengths_;
  std::unordered_map<const void*, Entry> layers_;
};

}  // namespace me
