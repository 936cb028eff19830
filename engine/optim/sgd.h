// SGD with momentum over the flat buffers (torch.optim.SGD as Megatron builds it: L2 weight decay
// added to the gradient, no dampening, no Nesterov): registered as "sgd".
#pragma once

#include "engine/optim/optimizer.h"

namespace me {

class Sgd final : public Optimizer {
 public:
  Sgd(ParamBuffers& buffers, const Recipe& recipe, const OptimizerShard& shard);

  void step(double lr, double weight_decay) override;
  std::vector<std::pair<std::string, Tensor*>> state_buffers() override;
  OptimizerShard shard() const override { return shard_; }
  int64_t step_count() const override { return step_count_; }
  void set_step_count(int64_t steps) override { step_count_ = steps; }

 private:
  ParamBuffers& buffers_;
  OptimizerShard shard_;
  double momentum_;
  std::vector<UpdateRun> runs_;
  Tensor momentum_buffer_;  // (total_elems) f32
  int64_t step_count_ = 0;
};

}  // namespace me
