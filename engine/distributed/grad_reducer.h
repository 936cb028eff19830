// Data-parallel gradient reduction over the flat gradient buffer, one bucket at a time: all-reduce,
// or reduce-scatter into each rank's bucket shards for the distributed optimizer.
//
// Overlap (overlap_grad_reduce): the step's last micro-batch runs backward with the trainer's
// OverlapHooks in its context, which report each module (embedding, decoder layer, final norm,
// output layer) as its backward ends: grads_final(module). Its parameters then hold their final
// gradients; the reducer counts per bucket the parameters still pending and starts the bucket's
// collective (Communicator::start_*) when none is left. Buckets fill in reverse forward order
// (param_layout.h), so the first bucket starts while backward runs through the earlier layers:
// MPI progresses it whenever the reducer is called again, NCCL on its own stream. Earlier
// micro-batches only accumulate (Megatron's no_sync). finish() starts every bucket not yet started
// (all of them without overlap, and those held back for a collective that must come first) and
// waits for all; the optimizer runs after it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/optim/optimizer_shard.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/topology.h"

namespace me {

struct Recipe;
class Module;

// The buffer layout of a parameter group reduced over `data_parallel_size` ranks: buckets of
// parallel.ddp_bucket_size elements (null: one bucket, or Megatron's max(40M, 1M x dp) with
// overlap_grad_reduce), ends padded for dp shards.
ParamLayoutOptions data_parallel_layout_options(const Recipe& recipe, int64_t data_parallel_size);
// The same for the dense group of `topology` (its data-parallel size).
ParamLayoutOptions data_parallel_layout_options(const Recipe& recipe, const Topology& topology);

class GradReducer {
 public:
  // `comm` is the parameter group's data-parallel group (the dense group's is the world while
  // tp = pp = cp = 1). A shard of size > 1 selects reduce-scatter; it must match the group size.
  GradReducer(ParamBuffers& buffers, Communicator& comm, const OptimizerShard& shard);

  // `module`'s backward on the step's last micro-batch has run: its parameters' gradients are
  // final. Starts the reduce of every bucket this completes. Parameters of other groups (not in
  // these buffers) are left to their own reducers.
  void grads_final(Module& module);
  // `param`'s gradient still changes after backward (a tied copy, all-reduced over the embedding
  // group under pipeline parallelism first): its bucket is reduced only by finish().
  void hold_until_finish(const Parameter& param);
  // Starts bucket `bucket`'s reduce now (its gradients are complete).
  void bucket_ready(int64_t bucket);
  // Waits for the reduces started so far (before anything else writes the buffer: unscaling fp16
  // gradients); finish() still reduces the rest.
  void wait_started();
  // Afterwards every gradient holds the sum over ranks (all-reduce), or this rank's shard of every
  // bucket does and the rest of the buffer is zero (reduce-scatter). Resets for the next step.
  void finish();
  // Ends a step whose update is skipped (every data-parallel rank alike): waits for what started
  // and resets, reducing nothing more.
  void abandon();
  int64_t buckets_reduced() const { return buckets_reduced_; }  // started since construction

  // Whether every reduced gradient on every rank of the group is finite.
  bool all_finite();

 private:
  struct Bucket {
    int64_t params = 0;  // parameters in the bucket
    int64_t final = 0;   // of them, reported final this step
    bool held = false;   // reduced only by finish()
    bool started = false;
    bool completed = false;
    std::unique_ptr<PendingCollective> pending;
  };

  // This parameter's slot in the buffers (an internal error if it has none).
  const ParamSlot& slot_of(const Parameter& param) const;
  void start(int64_t bucket);
  void complete(int64_t bucket);
  void reset();

  ParamBuffers& buffers_;
  Communicator& comm_;
  OptimizerShard shard_;
  std::vector<Bucket> buckets_;
  std::vector<char> slot_final_;
  int64_t buckets_reduced_ = 0;
};

// All-gathers the parameter buffer bucket by bucket: each rank's updated shard into every rank
// (the distributed optimizer's last step, without overlap_param_gather).
void all_gather_param_shards(ParamBuffers& buffers, Communicator& comm,
                             const OptimizerShard& shard);

}  // namespace me
