// Host inverted dropout with a Philox mask: the CPU side of kernels/dropout.h.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"
#include "kernels/dropout_keep.h"

namespace me::cpu {

// y = x * mask / (1 - p), element i's mask drawn at index first + i. Forward and backward are the
// same map (the mask is regenerated), so one function serves both; x and y may alias.
void dropout(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream, uint64_t first);

}  // namespace me::cpu
