// Collectives over a group of ranks. SelfCommunicator (one rank) makes every collective a no-op,
// so single-process runs take the same code path as multi-rank ones (Marian's FakeMPIWrapper).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace me {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int64_t size() const = 0;
  virtual int64_t rank() const = 0;
  virtual void all_reduce_sum(double* values, int64_t count) = 0;
  virtual void all_reduce_sum(float* values, int64_t count) = 0;
  virtual void all_reduce_max(double* values, int64_t count) = 0;
  virtual void broadcast(void* data, int64_t bytes, int64_t root) = 0;
  virtual void barrier() = 0;
  // Ends every rank's process (MPI_Abort) after a fatal error on one, so no rank hangs.
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

class SelfCommunicator final : public Communicator {
 public:
  int64_t size() const override { return 1; }
  int64_t rank() const override { return 0; }
  void all_reduce_sum(double*, int64_t) override {}
  void all_reduce_sum(float*, int64_t) override {}
  void all_reduce_max(double*, int64_t) override {}
  void broadcast(void*, int64_t, int64_t) override {}
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override;
};

// True when this process was started by an MPI launcher (mpirun, srun).
bool launched_by_mpi();
// This process's world rank as the launcher reports it (0 without a launcher).
int64_t launcher_rank();
// Ends this process and, when MPI is initialised, every other rank (MPI_Abort).
[[noreturn]] void abort_world(int exit_code);

// The world: MPI_COMM_WORLD when launched by MPI (initialising MPI), else a SelfCommunicator.
std::unique_ptr<Communicator> make_world_communicator();

}  // namespace me
