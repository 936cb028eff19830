// Optimizer updates over contiguous ranges of the flat fp32 buffers (params, grads, states).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"

namespace me {

struct AdamWStep {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1-based, for bias correction
};

// Decoupled AdamW with bias correction (torch.optim.AdamW / Megatron's FusedAdam, adam_w_mode):
// p -= lr * wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
// Computed as torch does: p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps).
void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamWStep& step);

// The same update over many ranges of the flat buffers in one launch. `chunks` is an (C, 4) i64
// table on the buffers' device, one row {begin, end, state_begin, weight_decay (0 or 1)} per
// chunk: params[begin, end) and grads alike, the moments at state_begin + (i - begin); weight
// decay step.weight_decay where the flag is 1, none where 0. Built once per optimizer by
// adamw_chunk_table.
void adamw_update_chunks(Tensor& params, const Tensor& grads, Tensor& exp_avg, Tensor& exp_avg_sq,
                         const Tensor& chunks, const AdamWStep& step);

// A chunk table for adamw_update_chunks: each range {begin, end, state_begin, weight_decay} cut
// into pieces of at most `chunk_elems`, so one CUDA block per piece keeps the launch balanced.
struct UpdateRange {
  int64_t begin, end, state_begin;
  bool weight_decay;
};
Tensor adamw_chunk_table(const std::vector<UpdateRange>& ranges, Device device,
                         int64_t chunk_elems = 65536);

// torch.optim.SGD (dampening 0, no Nesterov): g += wd * p; buf = momentum * buf + g (buf = g on
// the first step); p -= lr * buf. With momentum == 0, p -= lr * g and momentum_buffer is unused
// (may be undefined). All tensors f32 (f64 accepted) and the same shape.
void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr,
                double momentum, double weight_decay, bool first_step);

}  // namespace me
