// inject_rank_fault: the stall sleeps in a loop (no collective is ever entered again); the kill
// leaves no chance to clean up, like an out-of-memory kill.
#include "engine/parallel/fault_injection.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "engine/parallel/topology.h"
#include "engine/recipe/recipe.h"

namespace me {

void inject_rank_fault(const Recipe& recipe, const Topology& topology, int64_t iteration) {
  const TrainConfig& t = recipe.train;
  if (topology.rank != t.inject_fault_rank) return;
  if (t.inject_kill_at_iteration == iteration) {
    spdlog::warn("{}: test fault: killing this rank at iteration {}", topology.describe(),
                 iteration);
    std::raise(SIGKILL);
  }
  if (t.inject_stall_at_iteration == iteration) {
    spdlog::warn("{}: test fault: stalling this rank at iteration {}", topology.describe(),
                 iteration);
    while (true) std::this_thread::sleep_for(std::chrono::hours(1));
  }
}

}  // namespace me
