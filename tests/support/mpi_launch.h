// Multi-rank doctest cases: a test case run plainly relaunches its own executable under
// `mpirun --oversubscribe -np N`, filtered to itself; under the launcher it does the rank's work.
#pragma once

#include <string>

#include "tests/support/process.h"

namespace me::testing {

// The shell prefix every test uses to start mpirun (root allowed, oversubscribed, time-limited).
std::string mpirun_prefix(int ranks, int timeout_seconds = 300);

// `megatron-engine ARGS` on `ranks` ranks: plainly for one, under mpirun otherwise.
CommandResult run_engine_on_ranks(int ranks, const std::string& args);

// The functional parallelism tests' training run: DIR/r.yaml with its metrics logged to
// DIR/METRICS and the `sets` overrides, on `ranks` ranks.
CommandResult train_on_ranks(const TempDir& dir, int ranks, const std::string& metrics,
                             const std::string& sets);

// Runs this test executable under mpirun with `ranks` ranks and only `test_case` selected.
CommandResult run_self_under_mpi(int ranks, const std::string& test_case);

}  // namespace me::testing
