// Timers: accumulated intervals, ms per iteration, only timers that ran, reset after each take.
#include "engine/distributed/timers.h"

#include <doctest/doctest.h>

#include <thread>

#include "engine/parallel/communicator.h"

using namespace me;

namespace {

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

TEST_CASE("timers accumulate between takes and report ms per iteration") {
  Timers timers(Device::cpu());
  SelfCommunicator comm;
  for (int i = 0; i < 2; ++i) {
    timers.start("forward-compute");
    sleep_ms(20);
    timers.stop("forward-compute");
  }
  timers.start("optimizer");
  sleep_ms(10);
  timers.stop("optimizer");
  const std::vector<TimerReading> readings = timers.take_max_over_ranks(comm, 2);
  REQUIRE(readings.size() == 2);  // in kNames order; timers that never ran are left out
  CHECK(readings[0].name == "forward-compute");
  CHECK(readings[0].ms_per_iteration >= 20.0);  // 40 ms over 2 iterations
  CHECK(readings[0].ms_per_iteration < 35.0);
  CHECK(readings[1].name == "optimizer");
  CHECK(readings[1].ms_per_iteration >= 5.0);
  CHECK(readings[1].ms_per_iteration < 15.0);
  CHECK(timers.take_max_over_ranks(comm, 1).empty());  // the take reset them
}

TEST_CASE("timer misuse is an internal error") {
  Timers timers(Device::cpu());
  CHECK_THROWS(timers.start("no-such-timer"));
  CHECK_THROWS(timers.stop("optimizer"));
  timers.start("optimizer");
  CHECK_THROWS(timers.start("optimizer"));
}

TEST_CASE("format_timers joins name and ms with two decimals") {
  CHECK(format_timers({{"forward-compute", 12.345}, {"optimizer", 0.5}}) ==
        "forward-compute: 12.35 | optimizer: 0.50");
}
