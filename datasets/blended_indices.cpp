// Megatron's build_blending_indices and build_exhaustive_blending_indices (helpers.cpp), the
// per-member sample requests of blended_megatron_dataset_builder.py, and a consistency check.
#include "datasets/blended_indices.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/core/error.h"

namespace me {

BlendedIndices build_blended_indices(std::span<const double> weights, int64_t size) {
  ME_CHECK(!weights.empty() && size >= 0, "blend of {} weights, size {}", weights.size(), size);
  BlendedIndices out;
  out.dataset_index.resize(static_cast<size_t>(size));
  out.dataset_sample_index.resize(static_cast<size_t>(size));
  std::vector<int64_t> counts(weights.size(), 0);
  for (int64_t t = 0; t < size; ++t) {
    const double at = std::max(static_cast<double>(t), 1.0);
    size_t best = 0;
    double best_error = weights[0] * at - static_cast<double>(counts[0]);
    for (size_t i = 1; i < weights.size(); ++i) {
      const double error = weights[i] * at - static_cast<double>(counts[i]);
      if (error > best_error) {
        best = i;
        best_error = error;
      }
    }
    out.dataset_index[static_cast<size_t>(t)] = static_cast<int32_t>(best);
    out.dataset_sample_index[static_cast<size_t>(t)] = counts[best]++;
  }
  return out;
}

BlendedIndices build_exhaustive_blended_indices(std::span<const int64_t> sizes) {
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  ME_CHECK(total > 0, "exhaustive blend of {} empty datasets", sizes.size());
  std::vector<double> weights;
  for (int64_t s : sizes) weights.push_back(static_cast<double>(s) / static_cast<double>(total));
  std::vector<int64_t> counts(sizes.size(), 0);
  BlendedIndices out;
  out.dataset_index.reserve(static_cast<size_t>(total));
  out.dataset_sample_index.reserve(static_cast<size_t>(total));
  for (int64_t t = 0; t < total; ++t) {
    const double at = std::max(static_cast<double>(t), 1.0);
    size_t best = 0;
    double best_error = std::numeric_limits<double>::lowest();
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (counts[i] == sizes[i]) continue;  // exhausted members no longer compete
      const double error = weights[i] * at - static_cast<double>(counts[i]);
      if (error > best_error) {
        best = i;
        best_error = error;
      }
    }
    out.dataset_index.push_back(static_cast<int32_t>(best));
    out.dataset_sample_index.push_back(counts[best]++);
  }
  return out;
}

std::vector<int64_t> blend_member_requests(std::span<const double> weights, int64_t size,
                                           double surplus) {
  std::vector<int64_t> out;
  for (double w : weights) {
    const double share = std::ceil(static_cast<double>(size) * w);
    out.push_back(static_cast<int64_t>(std::ceil(share * (1.0 + surplus))));
  }
  return out;
}

int64_t blend_size(std::span<const double> weights, int64_t size) {
  int64_t total = 0;
  for (double w : weights) total += static_cast<int64_t>(std::ceil(static_cast<double>(size) * w));
  return total;
}

std::string check_blended_indices(const BlendedIndices& indices,
                                  std::span<const int64_t> member_sizes) {
  if (indices.dataset_index.size() != indices.dataset_sample_index.size()) {
    return "dataset_index and dataset_sample_index differ in length";
  }
  std::vector<int64_t> counts(member_sizes.size(), 0);
  for (size_t t = 0; t < indices.dataset_index.size(); ++t) {
    const int32_t d = indices.dataset_index[t];
    if (d < 0 || static_cast<size_t>(d) >= member_sizes.size()) {
      return fmt::format("sample {} names dataset {} of {}", t, d, member_sizes.size());
    }
    const auto member = static_cast<size_t>(d);
    if (indices.dataset_sample_index[t] != counts[member]) {
      return fmt::format("sample {} reads sample {} of dataset {}, expected {}", t,
                         indices.dataset_sample_index[t], d, counts[member]);
    }
    if (++counts[member] > member_sizes[member]) {
      return fmt::format("dataset {} is read beyond its {} samples", d, member_sizes[member]);
    }
  }
  return "";
}

}  // namespace me
