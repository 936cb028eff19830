// CUDA embedding gather and its deterministic scatter-add: the CUDA side of kernels/embedding.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points (ids in range); f32 tables.
void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out);
// host_ids: the ids copied to the host (the entry point has them for the range check). Tokens are
// grouped by id on the host, then each (id, column) sums its tokens in token order, starting from
// the current dtable value: the CPU order, so the result is bitwise deterministic.
void embedding_backward(const Tensor& host_ids, const Tensor& dout, Tensor& dtable);

}  // namespace me::cuda
