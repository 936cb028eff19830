// SpikeGuard: running mean and standard deviation by hand; spikes skipped and kept out of the
// window; a lasting level shift accepted after a whole window of spikes.
#include "engine/train/spike_guard.h"

#include <doctest/doctest.h>

using namespace me;

namespace {

TrainConfig spike_config(int64_t window, double sigma) {
  TrainConfig t{};
  t.loss_spike_window = window;
  t.loss_spike_sigma = sigma;
  return t;
}

}  // namespace

TEST_CASE("the running window keeps the last N values") {
  RunningWindow w(4);
  for (const double v : {100.0, 2.0, 4.0, 4.0, 6.0}) w.push(v);  // 100 falls out
  CHECK(w.full());
  CHECK(w.mean() == doctest::Approx(4.0));
  CHECK(w.stddev() == doctest::Approx(std::sqrt(2.0)));  // deviations -2, 0, 0, 2: variance 8/4
}

TEST_CASE("a loss more than k sigma above the window's mean is a spike") {
  SpikeGuard guard(spike_config(4, 3.0));
  // Window 2, 4, 4, 6: mean 4, sigma sqrt(2); the bound is 4 + 3 * 1.41421 = 8.2426.
  int64_t it = 1;
  for (const double v : {2.0, 4.0, 4.0, 6.0}) CHECK_FALSE(guard.is_spike(it++, v, 0.0));
  CHECK(guard.is_spike(it++, 8.25, 0.0));
  CHECK_FALSE(guard.is_spike(it++, 8.24, 0.0));  // the spike did not enter the window
}

TEST_CASE("nothing is a spike before the window has filled") {
  SpikeGuard guard(spike_config(3, 1.0));
  CHECK_FALSE(guard.is_spike(1, 1.0, 0.0));
  CHECK_FALSE(guard.is_spike(2, 50.0, 0.0));
}

TEST_CASE("a grad norm spike skips the update too and a zero grad norm is never checked") {
  SpikeGuard guard(spike_config(2, 2.0));
  CHECK_FALSE(guard.is_spike(1, 3.0, 1.0));
  CHECK_FALSE(guard.is_spike(2, 3.0, 2.0));  // norm window 1, 2: mean 1.5, sigma 0.5, bound 2.5
  CHECK(guard.is_spike(3, 3.0, 2.6));
  CHECK_FALSE(guard.is_spike(4, 3.0, 0.0));
}

TEST_CASE("after a whole window of consecutive spikes the new level is accepted") {
  SpikeGuard guard(spike_config(2, 2.0));
  CHECK_FALSE(guard.is_spike(1, 1.0, 0.0));
  CHECK_FALSE(guard.is_spike(2, 2.0, 0.0));
  CHECK(guard.is_spike(3, 10.0, 0.0));
  CHECK(guard.is_spike(4, 10.0, 0.0));        // second in a row: the window restarts
  CHECK_FALSE(guard.is_spike(5, 10.0, 0.0));  // refilling: not checked
  CHECK_FALSE(guard.is_spike(6, 10.5, 0.0));
}

TEST_CASE("the injected spike multiplies the loss at its iteration only") {
  TrainConfig t = spike_config(2, 5.0);
  t.inject_loss_spike_at_iteration = 3;
  SpikeGuard guard(t);
  CHECK_FALSE(guard.is_spike(1, 2.0, 0.0));
  CHECK_FALSE(guard.is_spike(2, 2.1, 0.0));
  CHECK(guard.is_spike(3, 2.05, 0.0));
  CHECK_FALSE(guard.is_spike(4, 2.05, 0.0));
}

TEST_CASE("without a window the guard never fires") {
  TrainConfig t{};
  t.loss_spike_sigma = 1.0;
  t.inject_loss_spike_at_iteration = 1;
  SpikeGuard guard(t);
  for (int64_t it = 1; it < 5; ++it) CHECK_FALSE(guard.is_spike(it, it * 100.0, 0.0));
}
