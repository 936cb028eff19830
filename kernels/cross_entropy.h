// Softmax cross-entropy over the vocabulary, one loss per row. The loss mask and normalisation
// enter through dlosses (the gradient of each row's loss), so one kernel serves every reduction.
#pragma once

#include "engine/core/tensor.h"

namespace me {

// logits: (N, V) f32/f64; targets: (N) i32; losses: (N) = lse - logit[target]; lse: (N) saved;
// losses and lse in the logits' dtype. lse is max-subtracted (stable). There is no ignore index:
// masked rows get dlosses 0. Target kTargetOnAnotherShard (-1): the target's logit lives on
// another vocab-parallel rank, so the loss is lse and the gradient has no one-hot term; any
// other target outside [0, V) is an me::Error.
inline constexpr int32_t kTargetOnAnotherShard = -1;

void cross_entropy_forward(const Tensor& logits, const Tensor& targets, Tensor& losses,
                           Tensor& lse);
// dlogits (N, V) = (softmax(logits) - onehot(target)) * dlosses[row]; written. dlogits may be
// the logits tensor itself (computed in place).
void cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                            const Tensor& dlosses, Tensor& dlogits);

}  // namespace me
