// The MPI communicator (CPU tensors) and launcher detection. MPI is initialised only under a
// launcher, so a plain `megatron-engine` run never depends on an MPI runtime being usable.
#include "engine/parallel/communicator.h"

#include <mpi.h>

#include <cstdlib>

#include "engine/core/error.h"

namespace me {
namespace {

void mpi_check(int status, const char* what) {
  if (status != MPI_SUCCESS) {
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(status, message, &length);
    throw Error(fmt::format("{} failed: {}", what, std::string(message, length)));
  }
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) mpi_check(MPI_Init(nullptr, nullptr), "MPI_Init");
    int size = 0, rank = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    size_ = size;
    rank_ = rank;
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  int64_t size() const override { return size_; }
  int64_t rank() const override { return rank_; }
  void all_reduce_sum(double* values, int64_t count) override {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), MPI_DOUBLE, MPI_SUM,
                            MPI_COMM_WORLD),
              "MPI_Allreduce");
  }
  void all_reduce_sum(float* values, int64_t count) override {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                            MPI_COMM_WORLD),
              "MPI_Allreduce");
  }
  void all_reduce_max(double* values, int64_t count) override {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), MPI_DOUBLE, MPI_MAX,
                            MPI_COMM_WORLD),
              "MPI_Allreduce");
  }
  void broadcast(void* data, int64_t bytes, int64_t root) override {
    mpi_check(
        MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, static_cast<int>(root), MPI_COMM_WORLD),
        "MPI_Bcast");
  }
  void barrier() override { mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  [[noreturn]] void abort(int exit_code) override { abort_world(exit_code); }

 private:
  int64_t size_ = 1;
  int64_t rank_ = 0;
};

}  // namespace

void SelfCommunicator::abort(int exit_code) { abort_world(exit_code); }

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
  if (launched_by_mpi()) return std::make_unique<MpiCommunicator>();
  return std::make_unique<SelfCommunicator>();
}

}  // namespace me
