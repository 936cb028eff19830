// Megatron's OptimizerParamScheduler: LR warmup and decay plus the weight-decay schedule, counted
// in samples (num_steps grows by the global batch size after each successful step).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/registry/registry.h"

namespace me {

struct Recipe;

// The schedule's horizons in samples. Warmup may be fractional (lr_warmup_fraction * decay).
struct LrScheduleSteps {
  double warmup_steps;
  double decay_steps;
};

// One lr_decay_style: the LR after warmup. Registered by its Megatron name (constant, linear,
// cosine, inverse-square-root, WSD) in the "lr_schedule" registry.
class LrDecay {
 public:
  virtual ~LrDecay() = default;
  // The style's coefficient at num_steps n (warmup over, n <= decay_steps): c in
  // lr = min_lr + c * (max_lr - min_lr), or for inverse-square-root the factor on max_lr.
  virtual double coefficient(double num_steps, const LrScheduleSteps& steps) const = 0;
  // The LR from the coefficient; inverse-square-root and constant override it.
  virtual double lr(double num_steps, const LrScheduleSteps& steps, double max_lr,
                    double min_lr) const {
    return min_lr + coefficient(num_steps, steps) * (max_lr - min_lr);
  }
  // False for constant, which keeps max_lr even past decay_steps (every other style gives min_lr).
  virtual bool ends_at_decay_steps() const { return true; }
};

ME_DECLARE_REGISTRY(LrScheduleRegistry, "lr_schedule", LrDecay, const Recipe&);

class OptimizerParamScheduler {
 public:
  // Reads derived.global_batch_size, train.train_iters, scheduler.* and optimizer.lr, min_lr,
  // weight_decay, start/end_weight_decay, weight_decay_incr_style. Throws me::Error naming the
  // field for values Megatron's scheduler rejects.
  explicit OptimizerParamScheduler(const Recipe& recipe);

  double lr() const;            // LR for the current num_steps
  double weight_decay() const;  // weight decay for the current num_steps
  void step(int64_t increment) { num_steps_ += increment; }
  int64_t num_steps() const { return num_steps_; }
  void set_num_steps(int64_t num_steps) { num_steps_ = num_steps; }

  // The values Megatron stores with the scheduler in a checkpoint.
  double max_lr() const { return max_lr_; }
  double min_lr() const { return min_lr_; }
  const LrScheduleSteps& lr_steps() const { return steps_; }
  const std::string& lr_decay_style() const { return decay_style_; }
  double start_weight_decay() const { return start_wd_; }
  double end_weight_decay() const { return end_wd_; }
  int64_t wd_incr_steps() const { return wd_incr_steps_; }
  const std::string& wd_incr_style() const { return wd_incr_style_; }

 private:
  double init_lr_;
  double max_lr_;
  double min_lr_;
  LrScheduleSteps steps_;
  std::string decay_style_;
  std::unique_ptr<LrDecay> decay_;
  double start_wd_;
  double end_wd_;
  int64_t wd_incr_steps_;
  std::string wd_incr_style_;
  int64_t num_steps_ = 0;
};

}  // namespace me
