// CUDA inverted dropout with the Philox keep rule of kernels/dropout_keep.h: the CUDA side of
// kernels/dropout.h.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points; f32, bf16 or f16; x and y may alias. Element
// i's mask is drawn at index first + i.
void dropout(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream, uint64_t first);

}  // namespace me::cuda
