// Blend indices (megatron-facts 3.6): hand-derived sequences, tie-breaking, the exhaustive mode,
// per-member sample requests (values from Python's math.ceil) and realised proportions.
#include "datasets/blended_indices.h"

#include <doctest/doctest.h>

#include <cmath>
#include <utility>
#include <vector>

namespace me {
namespace {

using Pairs = std::vector<std::pair<int32_t, int64_t>>;

Pairs pairs_of(const BlendedIndices& indices) {
  Pairs out;
  for (size_t t = 0; t < indices.dataset_index.size(); ++t) {
    out.emplace_back(indices.dataset_index[t], indices.dataset_sample_index[t]);
  }
  return out;
}

TEST_CASE("blend of weights 0.5 0.3 0.2 by hand") {
  // t=0 (at 1): errors .5 .3 .2 -> 0; t=1: -.5 .3 .2 -> 1; t=2: 0 -.4 .4 -> 2;
  // t=3: .5 -.1 -.4 -> 0; t=4: 0 .2 -.2 -> 1; t=5: .5 -.5 0 -> 0; t=6: 0 -.2 .2 -> 2;
  // t=7: .5 .1 -.6 -> 0; t=8: 0 .4 -.4 -> 1; t=9: .5 -.3 -.2 -> 0.
  const std::vector<double> weights{0.5, 0.3, 0.2};
  const Pairs expected{{0, 0}, {1, 0}, {2, 0}, {0, 1}, {1, 1},
                       {0, 2}, {2, 1}, {0, 3}, {1, 2}, {0, 4}};
  CHECK(pairs_of(build_blended_indices(weights, 10)) == expected);
}

TEST_CASE("blend ties go to the lowest dataset index") {
  const std::vector<double> weights{0.5, 0.5};
  // t=0: .5 .5 tie -> 0; t=1: -.5 .5 -> 1; t=2: 0 0 tie -> 0; t=3: -.5 .5 -> 1; t=4: tie -> 0.
  const Pairs expected{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 2}, {1, 2}};
  CHECK(pairs_of(build_blended_indices(weights, 6)) == expected);
}

TEST_CASE("exhaustive blend uses every sample of every dataset once") {
  // Weights .75 .25: t=0 -> 0; t=1: -.25 .25 -> 1 (now exhausted); then 0, 0.
  const std::vector<int64_t> sizes{3, 1};
  const Pairs expected{{0, 0}, {1, 0}, {0, 1}, {0, 2}};
  CHECK(pairs_of(build_exhaustive_blended_indices(sizes)) == expected);
  const std::vector<int64_t> many{17, 5, 40};
  const BlendedIndices all = build_exhaustive_blended_indices(many);
  CHECK(all.size() == 62);
  CHECK(check_blended_indices(all, many).empty());
}

TEST_CASE("realised proportions stay within one percent of the weights") {
  const std::vector<double> weights{0.6, 0.25, 0.1, 0.05};
  for (int64_t n : {100, 1000, 12345}) {
    const BlendedIndices indices = build_blended_indices(weights, n);
    std::vector<int64_t> counts(weights.size(), 0);
    for (int32_t d : indices.dataset_index) ++counts[static_cast<size_t>(d)];
    for (size_t i = 0; i < weights.size(); ++i) {
      CHECK(std::abs(static_cast<double>(counts[i]) / static_cast<double>(n) - weights[i]) <= 0.01);
    }
  }
}

TEST_CASE("member requests carry the mid-level surplus") {
  // Python: [math.ceil(math.ceil(1000 * w) * 1.005) for w in (.5, .3, .2)] == [503, 302, 201].
  const std::vector<double> weights{0.5, 0.3, 0.2};
  CHECK(blend_member_requests(weights, 1000, 0.005) == std::vector<int64_t>{503, 302, 201});
  CHECK(blend_size(weights, 1000) == 1000);
  const std::vector<double> thirds{2.0 / 3.0, 1.0 / 3.0};
  CHECK(blend_member_requests(thirds, 10, 0.005) == std::vector<int64_t>{8, 5});
  CHECK(blend_size(thirds, 10) == 11);
}

TEST_CASE("check_blended_indices finds reads beyond a dataset and out-of-order samples") {
  const std::vector<double> weights{0.5, 0.5};
  const BlendedIndices indices = build_blended_indices(weights, 6);
  CHECK(check_blended_indices(indices, std::vector<int64_t>{3, 3}).empty());
  CHECK(check_blended_indices(indices, std::vector<int64_t>{3, 2}).find("beyond") !=
        std::string::npos);
  CHECK_FALSE(check_blended_indices(indices, std::vector<int64_t>{3}).empty());
  BlendedIndices swapped = indices;
  std::swap(swapped.dataset_sample_index[0], swapped.dataset_sample_index[2]);
  CHECK_FALSE(check_blended_indices(swapped, std::vector<int64_t>{3, 3}).empty());
}

}  // namespace
}  // namespace me
