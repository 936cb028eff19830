// Host AdamW and SGD updates: the CPU side of kernels/optimizer_update.h.
#pragma once

#include "engine/core/tensor.h"
#include "kernels/optimizer_update.h"

namespace me::cpu {

// Arguments already checked by the me:: entry points; element-wise over flat ranges.
void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamWStep& step);
void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr,
                double momentum, double weight_decay, bool first_step);

}  // namespace me::cpu
