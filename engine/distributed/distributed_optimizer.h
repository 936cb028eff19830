// The distributed optimizer (use_distributed_optimizer, ZeRO-1): each data-parallel rank keeps
// fp32 optimizer state for, and updates, only its shard of every bucket; the updated shards are
// then all-gathered so every rank holds the whole parameter buffer again: in step(), or with
// overlap_param_gather by the trainer's ParamGatherer, bucket by bucket into the next forward.
#pragma once

#include <memory>

#include "engine/optim/optimizer.h"
#include "engine/parallel/communicator.h"

namespace me {

class DistributedOptimizer final : public Optimizer {
 public:
  // `inner` was built over `buffers` with a shard of comm.size() ranks. gather_in_step false:
  // step() updates the shards only and the caller gathers (engine/distributed/param_gatherer.h).
  DistributedOptimizer(std::unique_ptr<Optimizer> inner, ParamBuffers& buffers, Communicator& comm,
                       bool gather_in_step = true);

  void step(double lr, double weight_decay) override;
  std::vector<std::pair<std::string, Tensor*>> state_buffers() override;
  OptimizerShard shard() const override { return inner_->shard(); }
  int64_t step_count() const override { return inner_->step_count(); }
  void set_step_count(int64_t steps) override { inner_->set_step_count(steps); }

 private:
  std::unique_ptr<Optimizer> inner_;
  ParamBuffers& buffers_;
  Communicator& comm_;
  bool gather_in_step_;
};

// The recipe's optimizer over `buffers`, a parameter group reduced over `data` (its data-parallel
// group): sharded over those ranks and wrapped in a DistributedOptimizer with
// use_distributed_optimizer (and more than one rank), else over the whole buffer; with
// overlap_param_gather its step leaves the gather to the caller.
std::unique_ptr<Optimizer> make_optimizer(ParamBuffers& buffers, const Recipe& recipe,
                                          Communicator& data);

}  // namespace me
