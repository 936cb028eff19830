// Loss scaling for fp16 training (Megatron's grad_scaler.py): a constant scale or a dynamic one
// that halves on overflow (after `hysteresis` overflows) and doubles after `window` clean steps.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/optim/param_buffers.h"

namespace me {

struct Recipe;

// What a checkpoint stores of a scaler (Megatron's state_dict keys).
struct LossScalerState {
  double scale = 1.0;
  int64_t growth_tracker = 0;
  int64_t hysteresis_tracker = 0;
};

class LossScaler {
 public:
  virtual ~LossScaler() = default;
  virtual double scale() const = 0;
  // Called once per step with whether any rank found inf/nan in the unscaled gradients.
  virtual void update(bool found_inf) = 0;
  virtual LossScalerState state() const = 0;
  virtual void set_state(const LossScalerState& state) = 0;
};

class ConstantLossScaler final : public LossScaler {
 public:
  explicit ConstantLossScaler(double scale);
  double scale() const override { return scale_; }
  void update(bool) override {}
  LossScalerState state() const override { return {scale_, 0, 0}; }
  void set_state(const LossScalerState& state) override { scale_ = state.scale; }

 private:
  double scale_;
};

class DynamicLossScaler final : public LossScaler {
 public:
  // growth_factor 2 and backoff_factor 0.5, as Megatron builds it.
  DynamicLossScaler(double initial_scale, double min_scale, int64_t growth_interval,
                    int64_t hysteresis);
  double scale() const override { return scale_; }
  void update(bool found_inf) override;
  LossScalerState state() const override;
  void set_state(const LossScalerState& state) override;

 private:
  double scale_;
  double min_scale_;
  int64_t growth_interval_;
  int64_t hysteresis_;
  int64_t growth_tracker_ = 0;
  int64_t hysteresis_tracker_;
};

// The scaler Megatron builds for this recipe: constant when mixed_precision.loss_scale is set
// (fp16, bf16 or the distributed optimizer), dynamic for fp16 otherwise, none (nullptr) else.
std::unique_ptr<LossScaler> make_loss_scaler(const Recipe& recipe);

// Multiplies the gradients by 1/scale and returns true when any of them is inf or nan (the
// step is then skipped). The caller MAX-reduces the flag across ranks before update().
bool unscale_grads_and_check(ParamBuffers& buffers, double scale);

}  // namespace me
