// The straggler table's selection and arithmetic against hand-computed values.
#include <doctest/doctest.h>

#include "engine/parallel/communicator.h"
#include "engine/train/straggler_report.h"

using namespace me;

TEST_CASE("the straggler table names the slowest and fastest ranks and the spread") {
  // Rank 2 is slowest (12.5), rank 1 fastest (10.0): spread (12.5 - 10) / 10 = 25%.
  CHECK(straggler_table({11.0, 10.0, 12.5, 11.0}, 1) ==
        "slowest: rank 2 12.5 ms | fastest: rank 1 10.0 ms | spread 25.0%");
  // Two at each end; the tie between ranks 0 and 3 keeps rank order.
  CHECK(straggler_table({11.0, 10.0, 12.5, 11.0}, 2) ==
        "slowest: rank 2 12.5 ms, rank 0 11.0 ms | fastest: rank 1 10.0 ms, rank 3 11.0 ms | "
        "spread 25.0%");
  CHECK(straggler_table({8.0}, 3) ==
        "slowest: rank 0 8.0 ms | fastest: rank 0 8.0 ms | spread 0.0%");
}

TEST_CASE("compute time sums this rank's forward backward and optimizer timers") {
  const std::vector<TimerReading> readings = {{"batch-generator", 9.0, 1.0},
                                              {"forward-compute", 9.0, 2.0},
                                              {"backward-compute", 9.0, 3.0},
                                              {"all-grads-sync", 9.0, 4.0},
                                              {"optimizer", 9.0, 0.5}};
  CHECK(compute_ms(readings) == 5.5);
  SelfCommunicator comm;
  CHECK(straggler_report(comm, 5.5, 1) ==
        "slowest: rank 0 5.5 ms | fastest: rank 0 5.5 ms | spread 0.0%");
}
