// The five lr_decay_style classes of Megatron's OptimizerParamScheduler.get_lr, after warmup:
// r = (n - W) / (D - W) is the fraction of the decay phase done.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "engine/optim/lr_schedule.h"
#include "engine/recipe/recipe.h"

namespace me {

namespace {

double decay_ratio(double n, const LrScheduleSteps& s) {
  return (n - s.warmup_steps) / (s.decay_steps - s.warmup_steps);
}

double half_cosine(double r) { return 0.5 * (std::cos(std::numbers::pi * r) + 1.0); }

}  // namespace

class ConstantLr final : public LrDecay {
 public:
  explicit ConstantLr(const Recipe&) {}
  double coefficient(double, const LrScheduleSteps&) const override { return 1.0; }
  double lr(double, const LrScheduleSteps&, double max_lr, double) const override { return max_lr; }
  bool ends_at_decay_steps() const override { return false; }
};

class LinearLr final : public LrDecay {
 public:
  explicit LinearLr(const Recipe&) {}
  double coefficient(double n, const LrScheduleSteps& s) const override {
    return 1.0 - decay_ratio(n, s);
  }
};

class CosineLr final : public LrDecay {
 public:
  explicit CosineLr(const Recipe&) {}
  double coefficient(double n, const LrScheduleSteps& s) const override {
    return half_cosine(decay_ratio(n, s));
  }
};

// max_lr * sqrt(W) / sqrt(n), floored at min_lr (W and n taken as at least 1).
class InverseSquareRootLr final : public LrDecay {
 public:
  explicit InverseSquareRootLr(const Recipe&) {}
  double coefficient(double n, const LrScheduleSteps& s) const override {
    return std::sqrt(std::max(s.warmup_steps, 1.0)) / std::sqrt(std::max(n, 1.0));
  }
  double lr(double n, const LrScheduleSteps& s, double max_lr, double min_lr) const override {
    return std::max(min_lr, max_lr * coefficient(n, s));
  }
};

// Warmup-stable-decay: max_lr until the last wsd_steps of the decay horizon, then an anneal to
// min_lr shaped by lr_wsd_decay_style over q = fraction of the anneal done.
class WsdLr final : public LrDecay {
 public:
  explicit WsdLr(const Recipe& recipe) : style_(recipe.scheduler.lr_wsd_decay_style) {
    const auto& iters = recipe.scheduler.lr_wsd_decay_iters;
    if (!iters || *iters < 1) {
      throw Error("lr_decay_style WSD needs lr_wsd_decay_iters >= 1",
                  "scheduler.lr_wsd_decay_iters");
    }
    wsd_steps_ = static_cast<double>(*iters * recipe.derived.global_batch_size);
    if (style_ != "exponential" && style_ != "linear" && style_ != "cosine" &&
        style_ != "minus_sqrt") {
      throw Error(fmt::format("unknown lr_wsd_decay_style '{}' (known: exponential, linear, "
                              "cosine, minus_sqrt)",
                              style_),
                  "scheduler.lr_wsd_decay_style");
    }
  }

  double coefficient(double n, const LrScheduleSteps& s) const override {
    const double anneal_start = s.decay_steps - wsd_steps_;
    if (n <= anneal_start) return 1.0;
    const double q = (n - anneal_start) / wsd_steps_;
    if (style_ == "exponential") return 2.0 * std::pow(0.5, q) - 1.0;
    if (style_ == "linear") return 1.0 - q;
    if (style_ == "cosine") return half_cosine(q);
    return 1.0 - std::sqrt(q);
  }

 private:
  std::string style_;
  double wsd_steps_;
};

}  // namespace me

ME_REGISTER(me::LrScheduleRegistry, "constant", me::ConstantLr);
ME_REGISTER(me::LrScheduleRegistry, "linear", me::LinearLr);
ME_REGISTER(me::LrScheduleRegistry, "cosine", me::CosineLr);
ME_REGISTER(me::LrScheduleRegistry, "inverse-square-root", me::InverseSquareRootLr);
ME_REGISTER(me::LrScheduleRegistry, "WSD", me::WsdLr);
