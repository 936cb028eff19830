// Host embedding gather and its deterministic scatter-add: the CPU side of kernels/embedding.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cpu {

// Arguments already checked by the me:: entry points (ids in range).
void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out);
void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable);

}  // namespace me::cpu
