// Embedding lookup and its gradient (scatter-add, deterministic: no atomics on CPU).
#pragma once

#include "engine/core/tensor.h"

namespace me {

// Id -1: the token's row lives on another vocab-parallel rank. Its output row is zero and its
// gradient is dropped (Megatron's masked input), so no host pass has to zero rows.
inline constexpr int32_t kIdOnAnotherShard = -1;

// ids: (N) i32 in [0, V) or kIdOnAnotherShard; table: (V, C); out: (N, C). Any other id outside
// [0, V) is an me::Error.
void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out);
// dtable (V, C) += scatter of dout (N, C) by ids (kIdOnAnotherShard rows skipped).
void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable);

}  // namespace me
