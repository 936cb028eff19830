// Collectives over a group of ranks. SelfCommunicator (one rank) makes every collective a no-op,
// so single-process runs take the same code path as multi-rank ones (Marian's FakeMPIWrapper).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/dtype.h"

namespace me {

// A collective in flight (Communicator::start_*). wait() returns once it completed, against the
// communicator's timeout like the blocking collectives; ready() asks without blocking and drives
// MPI's progress, which advances only inside MPI calls. Destroying a handle waits for it.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
  virtual bool ready() = 0;
};

// One point-to-point message of Communicator::exchange: `bytes` at `data`, to or from `peer`.
struct PeerMessage {
  void* data = nullptr;
  int64_t bytes = 0;
  int64_t peer = 0;
  int tag = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int64_t size() const = 0;
  virtual int64_t rank() const = 0;
  virtual void all_reduce_sum(double* values, int64_t count) = 0;
  virtual void all_reduce_sum(float* values, int64_t count) = 0;
  virtual void all_reduce_max(double* values, int64_t count) = 0;
  // In place over `count` floats, count a multiple of size(): afterwards this rank's chunk
  // [rank * count / size, (rank + 1) * count / size) holds that chunk summed over all ranks; the
  // rest of the buffer is unspecified (NCCL's in-place convention).
  virtual void reduce_scatter_sum(float* values, int64_t count) = 0;
  // In place: every rank's chunk (as above) lands in every rank's buffer.
  virtual void all_gather(float* values, int64_t count) = 0;
  virtual void broadcast(void* data, int64_t bytes, int64_t root) = 0;
  virtual void barrier() = 0;
  // The float collectives above, started without waiting (overlap_grad_reduce,
  // overlap_param_gather): the buffer belongs to the collective until its handle's wait()
  // returns. Every rank starts its collectives (blocking ones included) in the same order. The
  // default runs the blocking collective and returns a completed handle.
  virtual std::unique_ptr<PendingCollective> start_all_reduce_sum(float* values, int64_t count);
  virtual std::unique_ptr<PendingCollective> start_reduce_scatter_sum(float* values, int64_t count);
  virtual std::unique_ptr<PendingCollective> start_all_gather(float* values, int64_t count);
  // Point-to-point, byte-typed so activations of any dtype travel (the pipeline's hidden states
  // and their gradients). send copies `data` and returns without waiting for the receive, so
  // two stages may send to each other before either receives; recv blocks until `bytes` from
  // `source` arrive (against the timeout, like the collectives). Messages from one rank to
  // another with the same tag (0 to 15) arrive in the order sent. wait_sends blocks until every
  // send was received. Communicators without point-to-point throw.
  virtual void send(const void* data, int64_t bytes, int64_t dest, int tag = 0);
  virtual void recv(void* data, int64_t bytes, int64_t source, int tag = 0);
  virtual void wait_sends() {}
  // Posts every send and receive together and returns once the receives have arrived (sends
  // complete as send() leaves them), so a rank exchanging with a neighbour that sends to it at
  // the same time proceeds even where sends are not buffered (NCCL groups them). Here: each
  // send, then each receive.
  virtual void exchange(const std::vector<PeerMessage>& sends,
                        const std::vector<PeerMessage>& receives);
  // In-place collectives on `count` elements of `dtype` (device pointers when
  // takes_device_memory()): NCCL takes f32, f64, bf16 and f16; the default forwards f32 and f64
  // to the overloads above (all_reduce_sum only for f64) and refuses the rest.
  virtual void all_reduce_sum(void* values, int64_t count, DType dtype);
  virtual void reduce_scatter_sum(void* values, int64_t count, DType dtype);
  virtual void all_gather(void* values, int64_t count, DType dtype);
  // True when the float collectives take CUDA device pointers (NCCL) rather than host pointers.
  virtual bool takes_device_memory() const { return false; }
  // A collective that has not completed after this many seconds ends the job with a report of
  // every rank's progress (ExitCode::kTimeout); <= 0 waits forever.
  virtual void set_timeout(double seconds) {}
  // The training iteration this rank is in, for that report.
  virtual void set_step(int64_t step) {}
  // Ends every rank's process (MPI_Abort) after a fatal error on one, so no rank hangs.
  [[noreturn]] virtual void abort(int exit_code) = 0;
  // Collective: the ranks passing the same `color` form a new group, ordered by `key`
  // (MPI_Comm_split). Communicators that cannot split throw unless they are one rank (the group is
  // then this rank).
  virtual std::unique_ptr<Communicator> split(int64_t color, int64_t key);
};

class SelfCommunicator final : public Communicator {
 public:
  int64_t size() const override { return 1; }
  int64_t rank() const override { return 0; }
  void all_reduce_sum(double*, int64_t) override {}
  void all_reduce_sum(float*, int64_t) override {}
  void all_reduce_max(double*, int64_t) override {}
  void reduce_scatter_sum(float*, int64_t) override {}
  void all_gather(float*, int64_t) override {}
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
