// The per-rank timing table (Megatron's --log-straggler): every log interval each rank's compute
// time per iteration (forward + backward + optimizer, its own, not the max) is shared, and the
// last rank logs the slowest and fastest ranks, so a slow GPU or node shows by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/distributed/timers.h"

namespace me {

class Communicator;

// This rank's compute ms per iteration from a timer reading.
double compute_ms(const std::vector<TimerReading>& readings);

// "slowest: rank 3 12.5 ms, rank 0 11.0 ms | fastest: rank 1 9.8 ms, ... | spread 27.6%":
// `count` ranks at each end, ranks with equal times in rank order.
std::string straggler_table(const std::vector<double>& ms_by_rank, int64_t count);

// Collective: gathers every rank's compute ms (one all-reduce of world-size doubles) and returns
// the table (on every rank).
std::string straggler_report(Communicator& comm, double local_ms, int64_t count);

}  // namespace me
