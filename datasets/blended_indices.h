// The BlendedDataset indices of Megatron's blended_dataset.py / helpers.cpp (megatron-facts 3.6):
// which member dataset, and which of its samples, each blended sample reads. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace me {

struct BlendedIndices {
  std::vector<int32_t> dataset_index;         // (size,) member of each blended sample
  std::vector<int64_t> dataset_sample_index;  // (size,) sample within that member, 0, 1, ... each
  int64_t size() const { return static_cast<int64_t>(dataset_index.size()); }
};

// Sample t goes to the member i maximising w_i * max(t, 1) - count_i (ties to the lowest index).
BlendedIndices build_blended_indices(std::span<const double> weights, int64_t size);

// Without a size: weights = sizes / total, only members not yet exhausted compete, and each
// member contributes exactly its size.
BlendedIndices build_exhaustive_blended_indices(std::span<const int64_t> sizes);

// Samples member j is built with for a blend of `size` samples: ceil(ceil(size * w_j) * (1 +
// surplus)); the blend itself holds sum_j ceil(size * w_j) samples.
std::vector<int64_t> blend_member_requests(std::span<const double> weights, int64_t size,
                                           double surplus);
int64_t blend_size(std::span<const double> weights, int64_t size);

// "" when `indices` fit `member_sizes` (members in range, each member's samples 0, 1, 2, ... in
// order, none beyond its size), else what is wrong.
std::string check_blended_indices(const BlendedIndices& indices,
                                  std::span<const int64_t> member_sizes);

}  // namespace me
