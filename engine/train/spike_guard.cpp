// Spike detection over running windows of loss and grad norm.
#include "engine/train/spike_guard.h"

#include <spdlog/spdlog.h>

#include <cmath>

namespace me {
namespace {

// The test-only fault: the injected iteration reports values this many times too large.
constexpr double kInjectedSpikeFactor = 1000.0;

}  // namespace

void RunningWindow::push(double value) {
  values_.push_back(value);
  if (static_cast<int64_t>(values_.size()) > capacity_) values_.pop_front();
}

double RunningWindow::mean() const {
  double sum = 0.0;
  for (const double v : values_) sum += v;
  return values_.empty() ? 0.0 : sum / static_cast<double>(values_.size());
}

double RunningWindow::stddev() const {
  if (values_.empty()) return 0.0;
  const double m = mean();
  double sum = 0.0;
  for (const double v : values_) sum += (v - m) * (v - m);
  return std::sqrt(sum / static_cast<double>(values_.size()));
}

SpikeGuard::SpikeGuard(const TrainConfig& train)
    : enabled_(train.loss_spike_window.has_value()),
      sigma_(train.loss_spike_sigma),
      inject_at_(train.inject_loss_spike_at_iteration),
      window_size_(train.loss_spike_window.value_or(1)),
      loss_(window_size_),
      grad_norm_(window_size_) {}

bool SpikeGuard::exceeds(const RunningWindow& window, double value) const {
  return window.full() && value > window.mean() + sigma_ * window.stddev();
}

bool SpikeGuard::is_spike(int64_t iteration, double loss, double grad_norm) {
  if (!enabled_) return false;
  if (inject_at_ == iteration) {
    loss *= kInjectedSpikeFactor;
    grad_norm *= kInjectedSpikeFactor;
  }
  const bool loss_spike = exceeds(loss_, loss);
  const bool norm_spike = grad_norm > 0.0 && exceeds(grad_norm_, grad_norm);
  if (!loss_spike && !norm_spike) {
    consecutive_spikes_ = 0;
    loss_.push(loss);
    if (grad_norm > 0.0) grad_norm_.push(grad_norm);
    return false;
  }
  const RunningWindow& w = loss_spike ? loss_ : grad_norm_;
  const double value = loss_spike ? loss : grad_norm;
  spdlog::warn(
      "iteration {}: {} {:.6g} is {:.1f} standard deviations above the mean {:.6g} of the last {} "
      "iterations (loss_spike_sigma {}); optimizer update skipped",
      iteration, loss_spike ? "loss" : "grad norm", value,
      w.stddev() > 0 ? (value - w.mean()) / w.stddev() : INFINITY, w.mean(), window_size_, sigma_);
  if (++consecutive_spikes_ == window_size_) {
    spdlog::warn("{} consecutive spikes: taking the new level as normal and restarting the window",
                 window_size_);
    consecutive_spikes_ = 0;
    loss_.clear();
    grad_norm_.clear();
  }
  return true;
}

}  // namespace me
