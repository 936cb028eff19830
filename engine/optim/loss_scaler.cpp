// Constant and dynamic loss scalers, built from the recipe's mixed_precision section.
#include "engine/optim/loss_scaler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/recipe/recipe.h"
#include "kernels/elementwise.h"

namespace me {

ConstantLossScaler::ConstantLossScaler(double scale) : scale_(scale) {
  if (!(scale > 0 && std::isfinite(scale))) {
    throw Error(fmt::format("must be a finite value > 0, got {}", scale),
                "mixed_precision.loss_scale");
  }
}

DynamicLossScaler::DynamicLossScaler(double initial_scale, double min_scale,
                                     int64_t growth_interval, int64_t hysteresis)
    : scale_(initial_scale),
      min_scale_(min_scale),
      growth_interval_(growth_interval),
      hysteresis_(hysteresis),
      hysteresis_tracker_(hysteresis) {
  if (!(initial_scale > 0 && std::isfinite(initial_scale))) {
    throw Error(fmt::format("must be a finite value > 0, got {}", initial_scale),
                "mixed_precision.initial_loss_scale");
  }
  if (!(min_scale > 0 && min_scale <= initial_scale)) {
    throw Error(
        fmt::format("must be > 0 and <= initial_loss_scale ({}), got {}", initial_scale, min_scale),
        "mixed_precision.min_loss_scale");
  }
  if (growth_interval < 1) {
    throw Error(fmt::format("must be >= 1, got {}", growth_interval),
                "mixed_precision.loss_scale_window");
  }
  if (hysteresis < 1) {
    throw Error(fmt::format("must be >= 1, got {}", hysteresis), "mixed_precision.hysteresis");
  }
}

void DynamicLossScaler::update(bool found_inf) {
  if (found_inf) {
    growth_tracker_ = 0;
    --hysteresis_tracker_;
    // The tracker is not reset here (Megatron), so once hysteresis is used up every further
    // overflow halves the scale again until a growth refills it.
    if (hysteresis_tracker_ <= 0) scale_ = std::max(scale_ * 0.5, min_scale_);
    return;
  }
  if (++growth_tracker_ == growth_interval_) {
    growth_tracker_ = 0;
    hysteresis_tracker_ = hysteresis_;
    scale_ *= 2.0;
  }
}

LossScalerState DynamicLossScaler::state() const {
  return {scale_, growth_tracker_, hysteresis_tracker_};
}

void DynamicLossScaler::set_state(const LossScalerState& state) {
  scale_ = state.scale;
  growth_tracker_ = state.growth_tracker;
  hysteresis_tracker_ = state.hysteresis_tracker;
}

std::unique_ptr<LossScaler> make_loss_scaler(const Recipe& recipe) {
  const MixedPrecisionConfig& mp = recipe.mixed_precision;
  // Megatron's fp32 optimizer (no fp16/bf16, no distributed optimizer) never scales.
  if (!mp.fp16 && !mp.bf16 && !recipe.parallel.use_distributed_optimizer) return nullptr;
  if (mp.loss_scale) return std::make_unique<ConstantLossScaler>(*mp.loss_scale);
  if (!mp.fp16) return nullptr;
  const double window = mp.loss_scale_window;
  if (!(window >= 1 && window == std::floor(window))) {
    throw Error(fmt::format("must be a whole number >= 1, got {}", window),
                "mixed_precision.loss_scale_window");
  }
  return std::make_unique<DynamicLossScaler>(mp.initial_loss_scale, mp.min_loss_scale,
                                             static_cast<int64_t>(window), mp.hysteresis);
}

bool unscale_grads_and_check(ParamBuffers& buffers, double scale) {
  ME_CHECK(scale > 0, "loss scale {} is not positive", scale);
  me::scale(buffers.grads(), 1.0 / scale);
  return !all_finite(buffers.grads());
}

}  // namespace me
