// MpiCommunicator: MPI_I* collectives waited on with MPI_Test until done or past the timeout,
// there and then (blocking) or when the caller waits on the handle (start_*). A stall prints
// hang_report from every waiting rank and aborts the job with ExitCode::kTimeout.
#include "engine/parallel/mpi_communicator.h"

#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <iterator>
#include <list>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "engine/parallel/progress_board.h"

namespace me {
namespace {

using Clock = std::chrono::steady_clock;

void mpi_check(int status, const char* what) {
  if (status != MPI_SUCCESS) {
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(status, message, &length);
    throw Error(fmt::format("{} failed: {}", what, std::string(message, length)));
  }
}

// Point-to-point tags sit above this base: order between a pair of ranks for one tag is MPI's
// non-overtaking order, which the pipeline schedule relies on.
constexpr int kPointToPointTagBase = 100;

int count_of(int64_t count) {
  ME_CHECK(count >= 0 && count <= INT_MAX, "collective of {} elements exceeds MPI's int count",
           count);
  return static_cast<int>(count);
}

class MpiCommunicator final : public Communicator {
 public:
  // world: MPI_COMM_WORLD, initialising MPI and finalising it at the end; otherwise a group
  // this object owns (from split) and frees. Only the world keeps a progress board: one
  // one-sided window per group fails in Open MPI's shared-memory setup with 4 oversubscribed
  // ranks, and a stalled group collective is still reported and ends the job.
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm), is_world_(comm == MPI_COMM_WORLD) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) mpi_check(MPI_Init(nullptr, nullptr), "MPI_Init");
    int size = 0, rank = 0;
    MPI_Comm_size(comm_, &size);
    MPI_Comm_rank(comm_, &rank);
    size_ = size;
    rank_ = rank;
    if (is_world_) board_ = std::make_unique<ProgressBoard>(comm_);
  }
  ~MpiCommunicator() override {
    // Unwinding after an error on this rank alone: freeing the window and finalising are
    // collective and would wait for ranks that never come; the caller aborts the job instead.
    if (std::uncaught_exceptions() > 0) return;
    board_.reset();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    if (is_world_) {
      MPI_Finalize();
    } else {
      MPI_Comm_free(&comm_);
    }
  }
  std::unique_ptr<Communicator> split(int64_t color, int64_t key) override {
    MPI_Comm group = MPI_COMM_NULL;
    mpi_check(MPI_Comm_split(comm_, static_cast<int>(color), static_cast<int>(key), &group),
              "MPI_Comm_split");
    auto sub = std::make_unique<MpiCommunicator>(group);
    sub->set_timeout(timeout_seconds_);
    return sub;
  }
  int64_t size() const override { return size_; }
  int64_t rank() const override { return rank_; }
  void set_timeout(double seconds) override { timeout_seconds_ = seconds; }
  void set_step(int64_t step) override {
    if (board_) board_->set_step(step);
  }

  void all_reduce_sum(double* values, int64_t count) override {
    run(CollectiveOp::kAllReduceSum, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, values, count_of(count), MPI_DOUBLE, MPI_SUM, comm_, r);
    });
  }
  void all_reduce_sum(float* values, int64_t count) override {
    start_all_reduce_sum(values, count)->wait();
  }
  void all_reduce_max(double* values, int64_t count) override {
    run(CollectiveOp::kAllReduceMax, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, values, count_of(count), MPI_DOUBLE, MPI_MAX, comm_, r);
    });
  }
  // The float collectives block by waiting on their started forms (one definition each).
  void reduce_scatter_sum(float* values, int64_t count) override {
    start_reduce_scatter_sum(values, count)->wait();
  }
  void all_gather(float* values, int64_t count) override {
    start_all_gather(values, count)->wait();
  }
  std::unique_ptr<PendingCollective> start_all_reduce_sum(float* values, int64_t count) override {
    return start(CollectiveOp::kAllReduceSum, {}, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, values, count_of(count), MPI_FLOAT, MPI_SUM, comm_, r);
    });
  }
  std::unique_ptr<PendingCollective> start_reduce_scatter_sum(float* values,
                                                              int64_t count) override {
    ME_CHECK(count % size_ == 0, "reduce_scatter_sum of {} floats over {} ranks", count, size_);
    const int64_t chunk = count / size_;
    // MPI has no in-place reduce-scatter into the rank's own chunk: the result lands in the
    // handle's scratch and is copied into place when the collective completes.
    Landing landing{std::vector<float>(static_cast<size_t>(chunk)), values + rank_ * chunk};
    float* scratch = landing.scratch.data();
    return start(CollectiveOp::kReduceScatterSum, std::move(landing), [&](MPI_Request* r) {
      return MPI_Ireduce_scatter_block(values, scratch, count_of(chunk), MPI_FLOAT, MPI_SUM, comm_,
                                       r);
    });
  }
  std::unique_ptr<PendingCollective> start_all_gather(float* values, int64_t count) override {
    ME_CHECK(count % size_ == 0, "all_gather of {} floats over {} ranks", count, size_);
    return start(CollectiveOp::kAllGather, {}, [&](MPI_Request* r) {
      return MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, values, count_of(count / size_),
                            MPI_FLOAT, comm_, r);
    });
  }
  void broadcast(void* data, int64_t bytes, int64_t root) override {
    run(CollectiveOp::kBroadcast, [&](MPI_Request* r) {
      return MPI_Ibcast(data, count_of(bytes), MPI_BYTE, static_cast<int>(root), comm_, r);
    });
  }
  void barrier() override {
    run(CollectiveOp::kBarrier, [&](MPI_Request* r) { return MPI_Ibarrier(comm_, r); });
  }
  void send(const void* data, int64_t bytes, int64_t dest, int tag) override {
    reap_sends();
    PendingSend& pending = sends_.emplace_back();
    pending.seq = ++seq_;
    pending.peer = dest;
    pending.buffer.assign(static_cast<const char*>(data), static_cast<const char*>(data) + bytes);
    mpi_check(MPI_Isend(pending.buffer.data(), count_of(bytes), MPI_BYTE, static_cast<int>(dest),
                        kPointToPointTagBase + tag, comm_, &pending.request),
              "MPI_Isend");
  }
  void recv(void* data, int64_t bytes, int64_t source, int tag) override {
    reap_sends();
    const int64_t seq = ++seq_;
    MPI_Request request = MPI_REQUEST_NULL;
    mpi_check(MPI_Irecv(data, count_of(bytes), MPI_BYTE, static_cast<int>(source),
                        kPointToPointTagBase + tag, comm_, &request),
              "MPI_Irecv");
    MPI_Status status;
    wait(request, seq, CollectiveOp::kRecv, source, &status);
    int received = 0;
    MPI_Get_count(&status, MPI_BYTE, &received);
    ME_CHECK(received == bytes, "received {} bytes from group rank {}, expected {}", received,
             source, bytes);
  }
  void wait_sends() override {
    for (PendingSend& pending : sends_) {
      wait(pending.request, pending.seq, CollectiveOp::kSend, pending.peer);
    }
    sends_.clear();
  }
  [[noreturn]] void abort(int exit_code) override { abort_world(exit_code); }

 private:
  template <typename Start>
  void run(CollectiveOp op, Start start) {
    const int64_t seq = ++seq_;
    if (board_) board_->entered(seq, op);
    MPI_Request request = MPI_REQUEST_NULL;
    mpi_check(start(&request), collective_op_name(op));
    wait(request, seq, op);
    if (board_) board_->completed(seq, op);
  }

  // Where a started collective's result is copied once it completes (reduce-scatter only).
  struct Landing {
    std::vector<float> scratch;
    float* destination = nullptr;
  };

  // A started collective: waited on like the blocking ones (same deadline and hang report).
  class Pending final : public PendingCollective {
   public:
    Pending(MpiCommunicator& comm, int64_t seq, CollectiveOp op, Landing landing)
        : comm_(comm), seq_(seq), op_(op), landing_(std::move(landing)) {}
    ~Pending() override {
      if (!done_ && std::uncaught_exceptions() == 0) wait();
    }
    void wait() override {
      if (done_) return;
      comm_.wait(request_, seq_, op_);
      complete();
    }
    bool ready() override {
      if (done_) return true;
      int finished = 0;
      mpi_check(MPI_Test(&request_, &finished, MPI_STATUS_IGNORE), collective_op_name(op_));
      if (finished) complete();
      return done_;
    }
    MPI_Request* request() { return &request_; }

   private:
    void complete() {
      done_ = true;
      if (landing_.destination) {
        std::memcpy(landing_.destination, landing_.scratch.data(),
                    landing_.scratch.size() * sizeof(float));
      }
      // Collectives may complete out of order now: the board keeps the latest number.
      if (comm_.board_ && seq_ > comm_.board_->mine().completed_seq) {
        comm_.board_->completed(seq_, op_);
      }
    }

    MpiCommunicator& comm_;
    int64_t seq_;
    CollectiveOp op_;
    Landing landing_;
    MPI_Request request_ = MPI_REQUEST_NULL;
    bool done_ = false;
  };

  template <typename Start>
  std::unique_ptr<PendingCollective> start(CollectiveOp op, Landing landing, Start launch) {
    const int64_t seq = ++seq_;
    if (board_) board_->entered(seq, op);
    auto pending = std::make_unique<Pending>(*this, seq, op, std::move(landing));
    mpi_check(launch(pending->request()), collective_op_name(op));
    return pending;
  }

  // A send still in flight: MPI reads its own copy of the bytes until the request completes.
  struct PendingSend {
    std::vector<char> buffer;
    MPI_Request request = MPI_REQUEST_NULL;
    int64_t seq = 0;
    int64_t peer = 0;
  };

  // Forgets the sends that completed (MPI_Test also drives their progress).
  void reap_sends() {
    for (auto it = sends_.begin(); it != sends_.end();) {
      int done = 0;
      mpi_check(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "MPI_Isend");
      it = done ? sends_.erase(it) : std::next(it);
    }
  }

  // peer: the other group rank of a point-to-point operation (-1 for a collective).
  void wait(MPI_Request& request, int64_t seq, CollectiveOp op, int64_t peer = -1,
            MPI_Status* status = MPI_STATUS_IGNORE) {
    if (timeout_seconds_ <= 0) {
      mpi_check(MPI_Wait(&request, status), collective_op_name(op));
      return;
    }
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(timeout_seconds_));
    int done = 0;
    while (true) {
      mpi_check(MPI_Test(&request, &done, status), collective_op_name(op));
      if (done) return;
      const auto now = Clock::now();
      if (now >= deadline) stalled(seq, op, peer);
      // Spin briefly (most collectives finish within microseconds), then poll at 1 ms.
      if (now - start > std::chrono::milliseconds(1)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

  // The world rank of this group's rank `group_rank` (local, no communication).
  int64_t world_rank_of(int64_t group_rank) const {
    MPI_Group group, world;
    MPI_Comm_group(comm_, &group);
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    int in = static_cast<int>(group_rank), out = 0;
    MPI_Group_translate_ranks(group, 1, &in, world, &out);
    MPI_Group_free(&group);
    MPI_Group_free(&world);
    return out;
  }

  [[noreturn]] void stalled(int64_t seq, CollectiveOp op, int64_t peer) {
    // Reading the board needs no help from the other ranks; should the MPI library block anyway,
    // this timer still ends the process with the same code.
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::seconds(20));
      std::_Exit(static_cast<int>(ExitCode::kTimeout));
    }).detach();
    if (peer >= 0) {
      const bool sending = op == CollectiveOp::kSend;
      std::cerr << fmt::format(
                       "[rank {}] error: point-to-point #{} {} {} rank {} did not complete within "
                       "{:g} s (parallel.distributed_timeout_minutes): rank {} never {} it\n",
                       world_rank_of(rank_), seq, collective_op_name(op), sending ? "to" : "from",
                       world_rank_of(peer), timeout_seconds_, world_rank_of(peer),
                       sending ? "received" : "sent")
                << std::flush;
      abort_world(static_cast<int>(ExitCode::kTimeout));
    }
    std::cerr << fmt::format(
                     "[rank {}] error: collective #{} {} timed out; reading every rank's "
                     "progress\n",
                     rank_, seq, collective_op_name(op))
              << std::flush;
    const std::string report =
        board_ ? hang_report(static_cast<int>(rank_), seq, op, timeout_seconds_, board_->read_all())
               : fmt::format("collective #{} {} of a sub-group made no progress in {} s", seq,
                             collective_op_name(op), timeout_seconds_);
    std::cerr << fmt::format("[rank {}] error: {}\n", rank_, report) << std::flush;
    abort_world(static_cast<int>(ExitCode::kTimeout));
  }

  MPI_Comm comm_;
  bool is_world_;
  int64_t size_ = 1;
  int64_t rank_ = 0;
  int64_t seq_ = 0;
  double timeout_seconds_ = 0;
  std::unique_ptr<ProgressBoard> board_;
  std::list<PendingSend> sends_;  // list: MPI holds pointers into each buffer while in flight
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() {
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD);
}

}  // namespace me
