// Every rank's collective progress (sequence number, operation, step) in an MPI one-sided window,
// so a rank whose collective stalls can read who never arrived without their cooperation.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace me {

enum class CollectiveOp : int64_t {
  kNone = 0,
  kAllReduceSum,
  kAllReduceMax,
  kReduceScatterSum,
  kAllGather,
  kBroadcast,
  kBarrier,
  kSend,
  kRecv,
};

const char* collective_op_name(CollectiveOp op);

// One rank's entry: plain integers, so a remote read is a byte copy.
struct RankProgress {
  int64_t entered_seq = 0;  // the collective this rank is in (or last entered)
  int64_t entered_op = 0;
  int64_t completed_seq = 0;  // the last collective that completed on this rank
  int64_t completed_op = 0;
  int64_t completed_step = 0;  // the step that collective belonged to
  int64_t step = 0;            // the iteration this rank is in now
};

class ProgressBoard {
 public:
  explicit ProgressBoard(MPI_Comm comm);  // collective over comm
  ~ProgressBoard();                       // collective over comm
  ProgressBoard(const ProgressBoard&) = delete;
  ProgressBoard& operator=(const ProgressBoard&) = delete;

  void set_step(int64_t step);
  void entered(int64_t seq, CollectiveOp op);
  void completed(int64_t seq, CollectiveOp op);
  const RankProgress& mine() const { return *local_; }
  // Every rank's entry, read one-sidedly (the others need not call anything).
  std::vector<RankProgress> read_all() const;

 private:
  void publish();

  MPI_Comm comm_;
  MPI_Win window_ = MPI_WIN_NULL;
  RankProgress* local_ = nullptr;  // this rank's window memory
  int size_ = 1;
};

// The message a stalled collective ends the job with: the operation and its sequence number, the
// ranks that did not arrive, and each rank's last completed collective and step.
std::string hang_report(int my_rank, int64_t seq, CollectiveOp op, double timeout_seconds,
                        const std::vector<RankProgress>& ranks);

}  // namespace me
