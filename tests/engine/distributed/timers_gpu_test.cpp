// Timers on CUDA: a timer around queued GEMMs charges their device time, not the microseconds
// the launches take on the host (each boundary waits for the device).
#include <doctest/doctest.h>

#include <chrono>

#include "engine/parallel/communicator.h"
#include "engine/distributed/timers.h"
#include "kernels/matmul.h"

using namespace me;

TEST_CASE("a CUDA timer waits for the kernels it encloses") {
  const Device gpu = Device::cuda(0);
  const Tensor a = Tensor::zeros({4096, 4096}, DType::kF32, gpu);
  Tensor c = Tensor::zeros({4096, 4096}, DType::kF32, gpu);
  matmul(a, false, a, false, c);  // warm-up (cuBLAS handle, heuristics)
  (void)c.to(Device::cpu());

  // Reference: the same GEMMs timed from launch to a one-element device-to-host copy, which
  // returns once they are done (copying all of c would add ~50 ms of pageable transfer).
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) matmul(a, false, a, false, c);
  (void)c.view(0, {1}).to(Device::cpu());
  const double reference_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();

  Timers timers(gpu);
  SelfCommunicator comm;
  timers.start("forward-compute");
  for (int i = 0; i < 8; ++i) matmul(a, false, a, false, c);
  timers.stop("forward-compute");
  const std::vector<TimerReading> readings = timers.take_max_over_ranks(comm, 1);
  REQUIRE(readings.size() == 1);
  INFO("timer " << readings[0].ms_per_iteration << " ms, reference " << reference_ms << " ms");
  // Eight 4096^3 GEMMs take milliseconds; their launches alone take microseconds.
  CHECK(reference_ms > 1.0);
  CHECK(readings[0].ms_per_iteration > 0.5 * reference_ms);
}
