// Butterfly (xor-shuffle) reductions over groups of kLanes consecutive lanes of a warp: every lane
// ends with the group's result, combined in a fixed order, so results are deterministic.
#pragma once

namespace me::cuda {

template <int kLanes = 32>
__device__ inline float lane_sum(float v) {
  for (int offset = kLanes / 2; offset > 0; offset /= 2) {
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  }
  return v;
}

template <int kLanes = 32>
__device__ inline float lane_max(float v) {
  for (int offset = kLanes / 2; offset > 0; offset /= 2) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  }
  return v;
}

}  // namespace me::cuda
