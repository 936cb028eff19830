// Embedding lookup and its gradient (scatter-add, deterministic: no atomics on CPU).
#pragma once

#include "engine/core/tensor.h"

namespace me {

// ids: (N) i32 in [0, V); table: (V, C); out: (N, C). An id outside [0, V) is an me::Error.
void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out);
// dtable (V, C) += scatter of dout (N, C) by ids.
void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable);

}  // namespace me
