// Launcher detection and the world communicator. MPI is initialised only under a
// launcher, so a plain `megatron-engine` run never depends on an MPI runtime being usable.
#include "engine/parallel/communicator.h"

#include <mpi.h>

#include <fmt/format.h>

#include <cstdlib>

#include "engine/core/error.h"
#include "engine/parallel/mpi_communicator.h"

namespace me {

void SelfCommunicator::abort(int exit_code) { abort_world(exit_code); }

std::unique_ptr<Communicator> Communicator::split(int64_t, int64_t) {
  if (size() != 1) throw Error("this communicator cannot form sub-groups", "parallel");
  return std::make_unique<SelfCommunicator>();
}

namespace {
class CompletedCollective final : public PendingCollective {
 public:
  void wait() override {}
  bool ready() override { return true; }
};
}  // namespace

std::unique_ptr<PendingCollective> Communicator::start_all_reduce_sum(float* values,
                                                                      int64_t count) {
  all_reduce_sum(values, count);
  return std::make_unique<CompletedCollective>();
}

std::unique_ptr<PendingCollective> Communicator::start_reduce_scatter_sum(float* values,
                                                                          int64_t count) {
  reduce_scatter_sum(values, count);
  return std::make_unique<CompletedCollective>();
}

std::unique_ptr<PendingCollective> Communicator::start_all_gather(float* values, int64_t count) {
  all_gather(values, count);
  return std::make_unique<CompletedCollective>();
}

void Communicator::send(const void*, int64_t, int64_t, int) {
  throw Error("this communicator has no point-to-point send", "parallel");
}

void Communicator::recv(void*, int64_t, int64_t, int) {
  throw Error("this communicator has no point-to-point receive", "parallel");
}

void Communicator::exchange(const std::vector<PeerMessage>& sends,
                            const std::vector<PeerMessage>& receives) {
  for (const PeerMessage& m : sends) send(m.data, m.bytes, m.peer, m.tag);
  for (const PeerMessage& m : receives) recv(m.data, m.bytes, m.peer, m.tag);
}

void Communicator::all_reduce_sum(void* values, int64_t count, DType dtype) {
  if (dtype == DType::kF32) return all_reduce_sum(static_cast<float*>(values), count);
  if (dtype == DType::kF64) return all_reduce_sum(static_cast<double*>(values), count);
  throw Error(fmt::format("all-reduce of {} is not supported here", dtype_name(dtype)));
}

void Communicator::reduce_scatter_sum(void* values, int64_t count, DType dtype) {
  ME_CHECK(dtype == DType::kF32, "reduce-scatter of {} is not supported here", dtype_name(dtype));
  reduce_scatter_sum(static_cast<float*>(values), count);
}

void Communicator::all_gather(void* values, int64_t count, DType dtype) {
  ME_CHECK(dtype == DType::kF32, "all-gather of {} is not supported here", dtype_name(dtype));
  all_gather(static_cast<float*>(values), count);
}

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(var)) return true;
  }
  return false;
}

int64_t launcher_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"}) {
    if (const char* value = std::getenv(var)) return std::atoll(value);
  }
  return 0;
}

void abort_world(int exit_code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

std::unique_ptr<Communicator> make_world_communicator() {
  if (launched_by_mpi()) return make_mpi_communicator();
  return std::make_unique<SelfCommunicator>();
}

}  // namespace me
