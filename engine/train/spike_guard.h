// Loss-spike handling (train.loss_spike_window / loss_spike_sigma): an iteration whose loss or
// grad norm lies more than k standard deviations above the mean of the recent window gets no
// optimizer update. Every rank sees the same all-reduced values, so all ranks decide alike.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "engine/recipe/recipe.h"

namespace me {

// Running mean and standard deviation of the last `capacity` values.
class RunningWindow {
 public:
  explicit RunningWindow(int64_t capacity) : capacity_(capacity) {}
  void push(double value);
  void clear() { values_.clear(); }
  bool full() const { return static_cast<int64_t>(values_.size()) == capacity_; }
  double mean() const;
  double stddev() const;  // population standard deviation

 private:
  int64_t capacity_;
  std::deque<double> values_;
};

class SpikeGuard {
 public:
  explicit SpikeGuard(const TrainConfig& train);
  // True (with a warning naming the value and its distance) when `iteration`'s loss or grad norm
  // (0: not computed, not checked) is a spike. Spikes stay out of the windows; after a whole
  // window of consecutive spikes the loss has moved for good, so the windows restart from there.
  bool is_spike(int64_t iteration, double loss, double grad_norm);

 private:
  bool exceeds(const RunningWindow& window, double value) const;

  bool enabled_;
  double sigma_;
  std::optional<int64_t> inject_at_;
  int64_t window_size_;
  RunningWindow loss_;
  RunningWindow grad_norm_;
  int64_t consecutive_spikes_ = 0;
};

}  // namespace me
