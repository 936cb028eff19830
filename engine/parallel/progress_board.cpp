// ProgressBoard: a passive-target RMA window (lock_all for the board's lifetime) holding one
// RankProgress per rank; updates are local stores made visible with MPI_Win_sync.
#include "engine/parallel/progress_board.h"

#include <fmt/format.h>

#include <cstring>

namespace me {

const char* collective_op_name(CollectiveOp op) {
  switch (op) {
    case CollectiveOp::kNone:
      return "none";
    case CollectiveOp::kAllReduceSum:
      return "all_reduce_sum";
    case CollectiveOp::kAllReduceMax:
      return "all_reduce_max";
    case CollectiveOp::kReduceScatterSum:
      return "reduce_scatter_sum";
    case CollectiveOp::kAllGather:
      return "all_gather";
    case CollectiveOp::kBroadcast:
      return "broadcast";
    case CollectiveOp::kBarrier:
      return "barrier";
    case CollectiveOp::kSend:
      return "send";
    case CollectiveOp::kRecv:
      return "recv";
  }
  return "unknown";
}

ProgressBoard::ProgressBoard(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_size(comm_, &size_);
  MPI_Win_allocate(sizeof(RankProgress), 1, MPI_INFO_NULL, comm_, &local_, &window_);
  *local_ = RankProgress{};
  MPI_Win_lock_all(MPI_MODE_NOCHECK, window_);
  publish();
}

ProgressBoard::~ProgressBoard() {
  MPI_Win_unlock_all(window_);
  MPI_Win_free(&window_);
}

void ProgressBoard::publish() { MPI_Win_sync(window_); }

void ProgressBoard::set_step(int64_t step) {
  local_->step = step;
  publish();
}

void ProgressBoard::entered(int64_t seq, CollectiveOp op) {
  local_->entered_seq = seq;
  local_->entered_op = static_cast<int64_t>(op);
  publish();
}

void ProgressBoard::completed(int64_t seq, CollectiveOp op) {
  local_->completed_seq = seq;
  local_->completed_op = static_cast<int64_t>(op);
  local_->completed_step = local_->step;
  publish();
}

std::vector<RankProgress> ProgressBoard::read_all() const {
  std::vector<RankProgress> all(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    MPI_Get(&all[static_cast<size_t>(r)], sizeof(RankProgress), MPI_BYTE, r, 0,
            sizeof(RankProgress), MPI_BYTE, window_);
    MPI_Win_flush(r, window_);
  }
  return all;
}

std::string hang_report(int my_rank, int64_t seq, CollectiveOp op, double timeout_seconds,
                        const std::vector<RankProgress>& ranks) {
  std::vector<int> missing;
  for (size_t r = 0; r < ranks.size(); ++r) {
    if (ranks[r].entered_seq < seq) missing.push_back(static_cast<int>(r));
  }
  std::string text = fmt::format(
      "collective #{} {} did not complete within {:g} s (parallel.distributed_timeout_minutes) "
      "on rank {}; ",
      seq, collective_op_name(op), timeout_seconds, my_rank);
  if (missing.empty()) {
    text += "every rank entered it, so the stall is inside the communication library";
  } else {
    text += fmt::format("rank(s) {} did not arrive", fmt::join(missing, ", "));
  }
  text += ". Progress by rank:";
  for (size_t r = 0; r < ranks.size(); ++r) {
    const RankProgress& p = ranks[r];
    text +=
        fmt::format(" [rank {}: in step {}, last completed collective #{} {} in step {}", r, p.step,
                    p.completed_seq, collective_op_name(static_cast<CollectiveOp>(p.completed_op)),
                    p.completed_step);
    if (p.entered_seq > p.completed_seq) {
      text += fmt::format(", waiting in #{} {}", p.entered_seq,
                          collective_op_name(static_cast<CollectiveOp>(p.entered_op)));
    }
    text += "]";
  }
  return text;
}

}  // namespace me
