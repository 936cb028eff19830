// Test helper: rank 0 of a two-rank group whose peer holds the same values, so collectives have
// known results in one process (a sum doubles, a gather copies rank 0's half over rank 1's), with
// every started collective logged and deferred until waited on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/parallel/communicator.h"

namespace me::test {

class MirrorCommunicator final : public Communicator {
 public:
  // Started collectives log "start <offset>" and, when waited on, "wait <offset>", offset counted
  // in floats from `base` (the flat buffer they run on).
  MirrorCommunicator(std::vector<std::string>& log, const float* base) : log_(log), base_(base) {}
  // Called at each start with the range the collective reads, before it runs.
  std::function<void(int64_t offset, int64_t count)> on_start;

  int64_t size() const override { return 2; }
  int64_t rank() const override { return 0; }
  void all_reduce_sum(double* values, int64_t count) override;
  void all_reduce_sum(float* values, int64_t count) override;
  void all_reduce_max(double*, int64_t) override {}
  void reduce_scatter_sum(float* values, int64_t count) override;  // doubles rank 0's half
  void all_gather(float* values, int64_t count) override;
  void broadcast(void*, int64_t, int64_t) override {}
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override;
  std::unique_ptr<PendingCollective> start_all_reduce_sum(float* values, int64_t count) override;
  std::unique_ptr<PendingCollective> start_reduce_scatter_sum(float* values,
                                                              int64_t count) override;
  std::unique_ptr<PendingCollective> start_all_gather(float* values, int64_t count) override;

 private:
  std::unique_ptr<PendingCollective> started(float* values, std::function<void()> act,
                                             int64_t count);

  std::vector<std::string>& log_;
  const float* base_;
};

}  // namespace me::test
