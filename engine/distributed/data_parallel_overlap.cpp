// DataParallelOverlap: which hooks a run needs, and the gather after each step.
#include "engine/distributed/data_parallel_overlap.h"

#include "engine/recipe/recipe.h"

namespace me {

void OverlapHooks::before_forward(Module& module) {
  if (params_) params_->wait_for(module);
}

void OverlapHooks::after_backward(Module& module) {
  if (grads_) grads_->grads_final(module);
}

DataParallelOverlap::DataParallelOverlap(const Recipe& recipe, GradReducer& grads,
                                         ParamBuffers& buffers, Communicator& comm,
                                         const OptimizerShard& shard)
    : buffers_(buffers) {
  const auto& parallel = recipe.parallel;
  if (parallel.overlap_param_gather && shard.size > 1) {
    gatherer_ = std::make_unique<ParamGatherer>(buffers, comm, shard);
  }
  GradReducer* reducer = parallel.overlap_grad_reduce ? &grads : nullptr;
  for (const Parameter* p : buffers.parameters()) {
    if (reducer && p->tied.tied()) reducer->hold_until_finish(*p);
  }
  if (reducer || gatherer_) last_ = std::make_unique<OverlapHooks>(reducer, gatherer_.get());
  if (gatherer_) earlier_ = std::make_unique<OverlapHooks>(nullptr, gatherer_.get());
}

ModuleObserver* DataParallelOverlap::observer(int64_t micro_batch, int64_t num_microbatches) {
  return micro_batch + 1 == num_microbatches ? last_.get() : earlier_.get();
}

void DataParallelOverlap::after_step() {
  if (gatherer_) {
    gatherer_->start();
  } else {
    buffers_.sync_model_params();
  }
}

void DataParallelOverlap::wait_params() {
  if (gatherer_) gatherer_->wait_all();
}

}  // namespace me
