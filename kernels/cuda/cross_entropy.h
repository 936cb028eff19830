// CUDA softmax cross-entropy, one block per row: the CUDA side of kernels/cross_entropy.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points (targets in range); f32 logits.
void cross_entropy_forward(const Tensor& logits, const Tensor& targets, Tensor& losses,
                           Tensor& lse);
void cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                            const Tensor& dlosses, Tensor& dlogits);

}  // namespace me::cuda
