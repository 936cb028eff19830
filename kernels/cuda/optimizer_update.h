// CUDA AdamW and SGD over one contiguous range per launch: the CUDA side of
// kernels/optimizer_update.h.
#pragma once

#include "engine/core/tensor.h"
#include "kernels/optimizer_update.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points; f32 only.
void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamWStep& step);
// One block per chunk row; the table lives on the device.
void adamw_update_chunks(Tensor& params, const Tensor& grads, Tensor& exp_avg, Tensor& exp_avg_sq,
                         const Tensor& chunks, const AdamWStep& step);
void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr,
                double momentum, double weight_decay, bool first_step);

}  // namespace me::cuda
