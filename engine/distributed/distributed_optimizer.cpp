// DistributedOptimizer: the inner optimizer's shard update, then the parameter all-gather.
#include "engine/distributed/distributed_optimizer.h"

#include "engine/distributed/grad_reducer.h"
#include "engine/recipe/recipe.h"

namespace me {

DistributedOptimizer::DistributedOptimizer(std::unique_ptr<Optimizer> inner, ParamBuffers& buffers,
                                           Communicator& comm, bool gather_in_step)
    : inner_(std::move(inner)), buffers_(buffers), comm_(comm), gather_in_step_(gather_in_step) {
  ME_CHECK(inner_->shard().size == comm_.size(), "optimizer shard over {} ranks, group of {}",
           inner_->shard().size, comm_.size());
}

void DistributedOptimizer::step(double lr, double weight_decay) {
  inner_->step(lr, weight_decay);
  if (gather_in_step_) all_gather_param_shards(buffers_, comm_, inner_->shard());
}

std::vector<std::pair<std::string, Tensor*>> DistributedOptimizer::state_buffers() {
  return inner_->state_buffers();
}

std::unique_ptr<Optimizer> make_optimizer(ParamBuffers& buffers, const Recipe& recipe,
                                          Communicator& data) {
  const std::string& name = recipe.optimizer.optimizer;
  if (!recipe.parallel.use_distributed_optimizer || data.size() == 1) {
    return OptimizerRegistry::instance().create(name, buffers, recipe, OptimizerShard{});
  }
  const OptimizerShard shard{data.rank(), data.size()};
  return std::make_unique<DistributedOptimizer>(
      OptimizerRegistry::instance().create(name, buffers, recipe, shard), buffers, data,
      !recipe.parallel.overlap_param_gather);
}

}  // namespace me
