// CUDA cached attention (incremental decoding): the CUDA side of kernels/decode_attention.h.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry point; q, caches and out f32/bf16/f16 on one device,
// start, counts: B host values each (pointers: the .cu files are C++17, without std::span).
void decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      const int64_t* start, const int64_t* counts, Tensor& out, double scale);

}  // namespace me::cuda
