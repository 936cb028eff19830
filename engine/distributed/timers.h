// Per-phase wall-clock timers (Megatron's names): accumulated between log lines, reported in ms
// per iteration as the maximum over ranks. On a CUDA device every start and stop waits for the
// queued kernels, so a phase is charged its own device time (the only synchronizations added).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/device.h"

namespace me {

class Communicator;

struct TimerReading {
  std::string name;
  double ms_per_iteration = 0.0;        // the slowest rank's
  double local_ms_per_iteration = 0.0;  // this rank's (the straggler report compares them)
};

class Timers {
 public:
  // The timers every rank keeps, in report order; start/stop take one of these names.
  // The pipeline's point-to-point timers run only at pipeline_model_parallel_size > 1.
  static constexpr std::array<std::string_view, 15> kNames = {
      "batch-generator",
      "forward-compute",
      "backward-compute",
      "forward-recv",
      "forward-send",
      "backward-recv",
      "backward-send",
      "forward-send-forward-recv",
      "forward-send-backward-recv",
      "backward-send-forward-recv",
      "backward-send-backward-recv",
      "forward-backward-send-forward-backward-recv",
      "all-grads-sync",
      "optimizer",
      "save-checkpoint"};

  explicit Timers(Device device);
  void start(std::string_view name);
  void stop(std::string_view name);
  // Collective: each timer's time since the last call divided by `iterations`, max over ranks;
  // timers that ran on no rank are left out. Resets the accumulated times.
  std::vector<TimerReading> take_max_over_ranks(Communicator& comm, int64_t iterations);

 private:
  struct Timer {
    double seconds = 0.0;
    bool running = false;
    std::chrono::steady_clock::time_point started;
  };
  Timer& find(std::string_view name);
  void synchronize_device() const;

  Device device_;
  std::array<Timer, kNames.size()> timers_{};
};

// "forward-compute: 12.3 | backward-compute: 20.1 | ..." for the log line.
std::string format_timers(const std::vector<TimerReading>& readings);

}  // namespace me
