// What overlap_grad_reduce and overlap_param_gather add to a training step, wired for the trainer:
// the ModuleObserver each training micro-batch's context carries, and the parameter gather that
// follows the optimizer step.
//
// Step by step: the last micro-batch's backward reports each module done (after_backward) and the
// GradReducer starts every bucket it completes; finalize_grads' finish() waits for them (and
// reduces what was held back); the optimizer steps; the ParamGatherer starts the buckets'
// all-gathers; the next step's first forward waits for a bucket just before a module that reads
// it (before_forward). Without either setting the observer is null and nothing changes.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/nn/context.h"
#include "engine/optim/optimizer_shard.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"
#include "engine/distributed/grad_reducer.h"
#include "engine/distributed/param_gatherer.h"

namespace me {

struct Recipe;

// Forwards module events to the gatherer (before a forward) and the reducer (after a backward);
// either may be null.
class OverlapHooks final : public ModuleObserver {
 public:
  OverlapHooks(GradReducer* grads, ParamGatherer* params) : grads_(grads), params_(params) {}
  void before_forward(Module& module) override;
  void after_backward(Module& module) override;

 private:
  GradReducer* grads_;
  ParamGatherer* params_;
};

class DataParallelOverlap {
 public:
  // `comm` and `shard` are those of `grads` (the flat buffers' data-parallel group). The buckets
  // of tied copies (TiedCopies) are left to finish(): their gradients are all-reduced over the
  // pipeline's embedding group before the data-parallel reduce.
  DataParallelOverlap(const Recipe& recipe, GradReducer& grads, ParamBuffers& buffers,
                      Communicator& comm, const OptimizerShard& shard);

  // The observer for training micro-batch `micro_batch` of `num_microbatches` (its backward on
  // the last one reports gradients final); null when nothing overlaps.
  ModuleObserver* observer(int64_t micro_batch, int64_t num_microbatches);
  // After the optimizer step: starts the parameter gathers, or refreshes the model copy at once.
  void after_step();
  // Before anything but a training forward reads the parameters (evaluation, a checkpoint, exit).
  void wait_params();

 private:
  ParamBuffers& buffers_;
  std::unique_ptr<ParamGatherer> gatherer_;  // overlap_param_gather with dp > 1
  std::unique_ptr<OverlapHooks> last_;       // the last micro-batch
  std::unique_ptr<OverlapHooks> earlier_;    // the others: parameter waits only
};

}  // namespace me
