// Attention of new tokens against a key/value cache (incremental decoding): the step's queries sit
// at positions start[b] + i and see every cached key up to their own position.
#pragma once

#include <cstdint>
#include <span>

#include "engine/core/tensor.h"

namespace me {

// Copies the step's keys and values k, v (B, Tn, G, D) into the caches (B, S, G, D) at positions
// [start[b], start[b] + Tn) of each row b; start holds B host values with start[b] + Tn <= S.
void kv_cache_write(const Tensor& k, const Tensor& v, Tensor& k_cache, Tensor& v_cache,
                    std::span<const int64_t> start);

// q: (B, Tn, Hq, D); k_cache, v_cache: (B, S, G, D) with Hq % G == 0 (head h reads group
// h / (Hq / G)); out: (B, Tn, Hq, D). Query i of row b is at position p = start[b] + i < S and
// attends keys 0..p: out = softmax(scale q k^T) v over those keys. With start all 0 and Tn = S this
// is causal self-attention (kernels/attention.h without dropout or documents).
void decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const int64_t> start, Tensor& out, double scale);

}  // namespace me
