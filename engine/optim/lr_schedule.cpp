// OptimizerParamScheduler: horizons from the recipe (get_optimizer_param_scheduler), the warmup
// ramp, the decay style by name, and the weight-decay increment schedule.
#include "engine/optim/lr_schedule.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "engine/recipe/recipe.h"

namespace me {

namespace {

LrScheduleSteps lr_steps_from(const Recipe& recipe, int64_t train_iters) {
  const int64_t gbs = recipe.derived.global_batch_size;
  const SchedulerConfig& s = recipe.scheduler;
  const int64_t decay_iters = s.lr_decay_iters.value_or(train_iters);
  const double decay_steps = static_cast<double>(decay_iters * gbs);
  if (s.lr_warmup_fraction && s.lr_warmup_iters != 0) {
    throw Error("lr_warmup_fraction and lr_warmup_iters are mutually exclusive",
                "scheduler.lr_warmup_fraction");
  }
  const double warmup_steps = s.lr_warmup_fraction ? *s.lr_warmup_fraction * decay_steps
                                                   : static_cast<double>(s.lr_warmup_iters * gbs);
  if (!(decay_steps > 0)) {
    throw Error(fmt::format("LR decay horizon must be > 0 samples, got {} iterations", decay_iters),
                "scheduler.lr_decay_iters");
  }
  if (!(warmup_steps >= 0 && warmup_steps < decay_steps)) {
    throw Error(
        fmt::format("warmup ({} samples) must be shorter than the decay horizon ({})", warmup_steps,
                    decay_steps),
        s.lr_warmup_fraction ? "scheduler.lr_warmup_fraction" : "scheduler.lr_warmup_iters");
  }
  return {warmup_steps, decay_steps};
}

std::unique_ptr<LrDecay> decay_from(const Recipe& recipe) {
  const std::string& style = recipe.scheduler.lr_decay_style;
  const auto& registry = LrScheduleRegistry::instance();
  if (!registry.contains(style)) {
    throw Error(registry.unknown_message(style), "scheduler.lr_decay_style");
  }
  return registry.create(style, recipe);
}

}  // namespace

OptimizerParamScheduler::OptimizerParamScheduler(const Recipe& recipe) {
  const OptimizerConfig& o = recipe.optimizer;
  if (recipe.derived.global_batch_size < 1) {
    throw Error(fmt::format("must be >= 1, got {}", recipe.derived.global_batch_size),
                "train.global_batch_size");
  }
  if (!recipe.train.train_iters || *recipe.train.train_iters < 1) {
    throw Error("the LR and weight-decay schedules need train_iters >= 1", "train.train_iters");
  }
  const int64_t train_iters = *recipe.train.train_iters;
  init_lr_ = recipe.scheduler.lr_warmup_init;
  max_lr_ = o.lr;
  min_lr_ = o.min_lr;
  if (!(min_lr_ >= 0 && min_lr_ <= max_lr_)) {
    throw Error(fmt::format("need 0 <= min_lr <= lr, got min_lr {} and lr {}", min_lr_, max_lr_),
                "optimizer.min_lr");
  }
  if (!(init_lr_ <= max_lr_)) {
    throw Error(fmt::format("must be <= lr ({}), got {}", max_lr_, init_lr_),
                "scheduler.lr_warmup_init");
  }
  steps_ = lr_steps_from(recipe, train_iters);
  decay_style_ = recipe.scheduler.lr_decay_style;
  decay_ = decay_from(recipe);

  wd_incr_style_ = o.weight_decay_incr_style;
  wd_incr_steps_ = train_iters * recipe.derived.global_batch_size;
  if (wd_incr_style_ == "constant") {
    // Megatron: a constant schedule takes weight_decay; explicit ends must agree with it.
    start_wd_ = end_wd_ = o.weight_decay;
    for (auto [value, field] : {std::pair{o.start_weight_decay, "optimizer.start_weight_decay"},
                                std::pair{o.end_weight_decay, "optimizer.end_weight_decay"}}) {
      if (value && *value != o.weight_decay) {
        throw Error(fmt::format("weight_decay_incr_style constant uses weight_decay ({}); got {}",
                                o.weight_decay, *value),
                    field);
      }
    }
  } else if (wd_incr_style_ == "linear" || wd_incr_style_ == "cosine") {
    if (!o.start_weight_decay || !o.end_weight_decay) {
      throw Error(
          fmt::format("weight_decay_incr_style {} needs start_weight_decay and "
                      "end_weight_decay",
                      wd_incr_style_),
          o.start_weight_decay ? "optimizer.end_weight_decay" : "optimizer.start_weight_decay");
    }
    start_wd_ = *o.start_weight_decay;
    end_wd_ = *o.end_weight_decay;
    if (!(start_wd_ >= 0 && end_wd_ >= start_wd_)) {
      throw Error(fmt::format("need 0 <= start_weight_decay <= end_weight_decay, got {} and {}",
                              start_wd_, end_wd_),
                  "optimizer.end_weight_decay");
    }
  } else {
    throw Error(
        fmt::format("unknown weight_decay_incr_style '{}' (known: constant, linear, cosine)",
                    wd_incr_style_),
        "optimizer.weight_decay_incr_style");
  }
}

double OptimizerParamScheduler::lr() const {
  const double n = static_cast<double>(num_steps_);
  if (steps_.warmup_steps > 0 && n <= steps_.warmup_steps) {
    return init_lr_ + (max_lr_ - init_lr_) * n / steps_.warmup_steps;
  }
  if (decay_->ends_at_decay_steps() && n > steps_.decay_steps) return min_lr_;
  return decay_->lr(n, steps_, max_lr_, min_lr_);
}

double OptimizerParamScheduler::weight_decay() const {
  if (num_steps_ > wd_incr_steps_ || wd_incr_style_ == "constant") return end_wd_;
  const double r = static_cast<double>(num_steps_) / static_cast<double>(wd_incr_steps_);
  // linear rises as r; cosine rises from 0 to 1 along half a cosine.
  const double c =
      wd_incr_style_ == "linear" ? r : 0.5 * (std::cos(std::numbers::pi * (1 - r)) + 1);
  return start_wd_ + c * (end_wd_ - start_wd_);
}

}  // namespace me
