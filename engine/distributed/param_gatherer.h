// overlap_param_gather: the distributed optimizer's parameter all-gather, one bucket at a time,
// started right after the optimizer step (last bucket first) and waited on bucket by bucket just
// before the next forward first runs a module holding one of the bucket's parameters (Megatron's
// forward pre-hook: OverlapHooks::before_forward, data_parallel_overlap.h). A bucket's range of
// the bf16/f16 model copy is refreshed once its gather lands. Anything else that reads the
// parameters (evaluation, a checkpoint, the end of training) calls wait_all() first.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/optim/optimizer_shard.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"

namespace me {

class Module;

class ParamGatherer {
 public:
  // `comm` is the data-parallel group the optimizer shards over (shard.size == comm.size() > 1).
  ParamGatherer(ParamBuffers& buffers, Communicator& comm, const OptimizerShard& shard);
  ParamGatherer(const ParamGatherer&) = delete;
  ParamGatherer& operator=(const ParamGatherer&) = delete;
  ~ParamGatherer();

  // Starts every bucket's all-gather: this rank's shards were just updated.
  void start();
  // Waits for the buckets holding `module`'s parameters (those of this group) and refreshes their
  // model copy.
  void wait_for(Module& module);
  // Waits for every bucket still in flight.
  void wait_all();
  bool in_flight() const { return in_flight_ > 0; }

 private:
  void wait_bucket(int64_t bucket);

  ParamBuffers& buffers_;
  Communicator& comm_;
  std::vector<std::unique_ptr<PendingCollective>> pending_;  // per bucket; null when landed
  int64_t in_flight_ = 0;
};

}  // namespace me
