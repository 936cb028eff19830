// Test-only faults (train.inject_stall_at_iteration / inject_kill_at_iteration on
// train.inject_fault_rank), so tests can prove a stalled or dead rank ends the job.
#pragma once

#include <cstdint>

namespace me {

struct Recipe;
struct Topology;

// At `iteration` on the chosen rank: sleeps forever (stall) or sends itself SIGKILL (kill).
void inject_rank_fault(const Recipe& recipe, const Topology& topology, int64_t iteration);

}  // namespace me
