// mpirun_prefix / run_self_under_mpi: /proc/self/exe relaunched with doctest's --test-case filter.
#include "tests/support/mpi_launch.h"

#include <fmt/format.h>

#include <filesystem>

#include "tests/support/test_paths.h"

namespace me::testing {

std::string mpirun_prefix(int ranks, int timeout_seconds) {
  return fmt::format(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_rmaps_base_oversubscribe=1 timeout {} mpirun --oversubscribe -np {}",
      timeout_seconds, ranks);
}

CommandResult run_engine_on_ranks(int ranks, const std::string& args) {
  if (ranks == 1) return run_engine(args);
  return run_command(fmt::format("{} {} {}", mpirun_prefix(ranks), test::binary_path(), args));
}

CommandResult train_on_ranks(const TempDir& dir, int ranks, const std::string& metrics,
                             const std::string& sets) {
  return run_engine_on_ranks(ranks, fmt::format("--recipe {} --set logging.metrics_file={} {}",
                                                dir / "r.yaml", dir / metrics, sets));
}

CommandResult run_self_under_mpi(int ranks, const std::string& test_case) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  return run_command(fmt::format("{} {} '--test-case={}'", mpirun_prefix(ranks), self, test_case));
}

}  // namespace me::testing
