// RMSNorm over the last dimension, registered as "rms_norm".
// Keeps the input and per-row rstd for backward; the math is kernels/rmsnorm.h.
#pragma once

#include <cstdint>
#include <string>

#include "engine/nn/module.h"

namespace me {

class RmsNorm final : public Layer {
 public:
  struct Saved {
    Tensor input;  // (N, C)
    Tensor rstd;   // (N)
  };

  // weight (C) ones, not weight-decayed (Megatron's wd_mult = 0 for norms); no bias.
  // over_rank_heads: NormConfig's.
  RmsNorm(const std::string& name, int64_t hidden_size, double epsilon,
          bool over_rank_heads = false);
  RmsNorm(const std::string& name, const NormConfig& config)
      : RmsNorm(name, config.size, config.epsilon, config.over_rank_heads) {}

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;    // (..., C)
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;  // (..., C)
  Tensor forward_add(const Tensor& x, const Tensor& residual, Tensor& added,
                     MicroBatchContext& ctx) override;
  Tensor backward_add(const Tensor& dy, const Tensor& dresidual, MicroBatchContext& ctx) override;
  // Keeps its input and per row its rstd; backward holds dy and dx.
  ModuleCost cost(const CostQuery& query) const override;

 private:
  // The norm of x, or (added non-null) of x + residual, which `added` receives.
  Tensor normalize(const Tensor& x, const Tensor& residual, Tensor* added, MicroBatchContext& ctx);
  // The input gradient, plus dresidual (N, C) when defined, in one kernel.
  Tensor input_gradient(const Tensor& dy, const Tensor& dresidual, MicroBatchContext& ctx);
  int64_t hidden_size_;
  double epsilon_;
  Parameter& weight_;
};

}  // namespace me
