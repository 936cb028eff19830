// Host loops of kernels/decode_attention.h: cached attention one query row at a time.
#pragma once

#include <cstdint>
#include <span>

#include "engine/core/tensor.h"

namespace me::cpu {

// Arguments already checked by the me:: entry point.
void decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const int64_t> start, std::span<const int64_t> counts, Tensor& out,
                      double scale);

}  // namespace me::cpu
