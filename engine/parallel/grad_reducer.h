// Data-parallel gradient reduction over the flat gradient buffer, one bucket at a time: all-reduce,
// or reduce-scatter into each rank's bucket shards for the distributed optimizer.
//
// Overlap hook (overlap_grad_reduce): bucket_ready(i) marks the moment bucket i's gradients are
// complete. With a host communicator (MPI) the reduce runs there and then; a device communicator
// (NCCL) enqueues it on its own stream, so a backward pass that calls bucket_ready as the last
// gradient of each bucket lands (buckets fill in backward order, param_layout.h) hides the
// communication behind the rest of backward. finish() reduces every bucket not yet marked and
// waits for all of them. Today's modules run backward as one call, so the trainer calls only
// finish(); the hook is where a per-layer backward will call in.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/optim/optimizer_shard.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/topology.h"

namespace me {

struct Recipe;

// The buffer layout for this run: buckets of parallel.ddp_bucket_size elements (null: one bucket,
// or Megatron's max(40M, 1M x dp) with overlap_grad_reduce), ends padded for dp shards.
ParamLayoutOptions data_parallel_layout_options(const Recipe& recipe, const Topology& topology);

class GradReducer {
 public:
  // `comm` is the data-parallel group (the world while tp = pp = cp = 1). A shard of size > 1
  // selects reduce-scatter; it must match the group size.
  GradReducer(ParamBuffers& buffers, Communicator& comm, const OptimizerShard& shard);

  void bucket_ready(int64_t bucket);
  // Afterwards every gradient holds the sum over ranks (all-reduce), or this rank's shard of every
  // bucket does and the rest of the buffer is zero (reduce-scatter). Resets for the next step.
  void finish();
  int64_t buckets_reduced() const { return buckets_reduced_; }  // since construction

  // The global L2 norm of the reduced gradients (shards summed over ranks).
  double grad_norm();
  // Whether every reduced gradient on every rank is finite.
  bool all_finite();

 private:
  void reduce(int64_t bucket);

  ParamBuffers& buffers_;
  Communicator& comm_;
  OptimizerShard shard_;
  std::vector<bool> reduced_;
  int64_t buckets_reduced_ = 0;
};

// All-gathers the parameter buffer bucket by bucket: each rank's updated shard into every rank
// (the distributed optimizer's last step).
void all_gather_param_shards(ParamBuffers& buffers, Communicator& comm,
                             const OptimizerShard& shard);

}  // namespace me
