// Attention of new tokens against a key/value cache (incremental decoding): row b's first counts[b]
// queries sit at positions start[b] + i and see every cached key up to their own position.
#pragma once

#include <cstdint>
#include <span>

#include "engine/core/tensor.h"

namespace me {

// Copies the first counts[b] <= Tn keys and values of each row b of k, v (B, Tn, G, D) into the
// caches (B, S, G, D) at positions [start[b], start[b] + counts[b]); the rest of the step is
// padding and is not written. start and counts hold B host values with start[b] + counts[b] <= S.
void kv_cache_write(const Tensor& k, const Tensor& v, Tensor& k_cache, Tensor& v_cache,
                    std::span<const int64_t> start, std::span<const int64_t> counts);

// q: (B, Tn, Hq, D); k_cache, v_cache: (B, S, G, D) with Hq % G == 0 (head h reads group
// h / (Hq / G)); out: (B, Tn, Hq, D). Query i < counts[b] of row b is at position
// p = start[b] + i and attends keys 0..p: out = softmax(scale q k^T) v over those keys; queries
// i >= counts[b] are padding, read no key and give out = 0. start[b] + counts[b] <= S. With start
// all 0 and counts all Tn = S this is causal self-attention (kernels/attention.h without dropout
// or documents).
void decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const int64_t> start, std::span<const int64_t> counts, Tensor& out,
                      double scale);

}  // namespace me
