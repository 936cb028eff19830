// Timers: steady-clock intervals with a device drain at each boundary on CUDA.
#include "engine/distributed/timers.h"

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

#ifdef ME_WITH_CUDA
#include "kernels/cuda/device_sync.h"
#endif

namespace me {

Timers::Timers(Device device) : device_(device) {}

Timers::Timer& Timers::find(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return timers_[i];
  }
  ME_CHECK(false, "unknown timer '{}'", name);
  return timers_[0];
}

void Timers::synchronize_device() const {
#ifdef ME_WITH_CUDA
  if (device_.is_cuda()) cuda::synchronize_current_device();  // every stream, NCCL's included
#endif
}

void Timers::start(std::string_view name) {
  Timer& t = find(name);
  ME_CHECK(!t.running, "timer '{}' started twice", name);
  synchronize_device();
  t.running = true;
  t.started = std::chrono::steady_clock::now();
}

void Timers::stop(std::string_view name) {
  Timer& t = find(name);
  ME_CHECK(t.running, "timer '{}' stopped without a start", name);
  synchronize_device();
  t.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t.started).count();
  t.running = false;
}

std::vector<TimerReading> Timers::take_max_over_ranks(Communicator& comm, int64_t iterations) {
  std::array<double, kNames.size()> seconds{}, local{};
  for (size_t i = 0; i < kNames.size(); ++i) {
    local[i] = seconds[i] = timers_[i].seconds;
    timers_[i].seconds = 0.0;
  }
  comm.all_reduce_max(seconds.data(), static_cast<int64_t>(seconds.size()));
  std::vector<TimerReading> readings;
  const double ms_per_second = 1000.0 / static_cast<double>(iterations);
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (seconds[i] > 0.0) {
      readings.push_back(
          {std::string(kNames[i]), ms_per_second * seconds[i], ms_per_second * local[i]});
    }
  }
  return readings;
}

std::string format_timers(const std::vector<TimerReading>& readings) {
  std::string out;
  for (const TimerReading& r : readings) {
    if (!out.empty()) out += " | ";
    out += fmt::format("{}: {:.2f}", r.name, r.ms_per_iteration);
  }
  return out;
}

}  // namespace me
