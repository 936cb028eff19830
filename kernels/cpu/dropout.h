// Host inverted dropout with a Philox mask: the CPU side of kernels/dropout.h.
#pragma once

#include <cstdint>

#include "engine/core/philox.h"
#include "engine/core/tensor.h"

namespace me::cpu {

// The keep decision every dropout on the host and device makes: compared in float, so the CPU
// reference and a CUDA kernel agree for every p.
inline bool dropout_keep(uint64_t seed, uint64_t stream, uint64_t index, float p) {
  return philox_uniform(seed, stream, index) > p;
}

// y = x * mask / (1 - p). Forward and backward are the same map (the mask is regenerated), so one
// function serves both; x and y may alias.
void dropout(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream);

}  // namespace me::cpu
