// Decoupled AdamW with bias correction over the flat buffers (Megatron's FusedAdam in adam_w_mode,
// torch.optim.AdamW): registered as "adam".
#pragma once

#include "engine/optim/optimizer.h"

namespace me {

class Adam final : public Optimizer {
 public:
  Adam(ParamBuffers& buffers, const Recipe& recipe, const OptimizerShard& shard);

  void step(double lr, double weight_decay) override;
  std::vector<std::pair<std::string, Tensor*>> state_buffers() override;
  OptimizerShard shard() const override { return shard_; }
  int64_t step_count() const override { return step_count_; }
  void set_step_count(int64_t steps) override { step_count_ = steps; }

 private:
  ParamBuffers& buffers_;
  OptimizerShard shard_;
  double beta1_;
  double beta2_;
  double eps_;
  Tensor chunks_;      // adamw_chunk_table of this shard's update runs
  Tensor exp_avg_;     // (total_elems) f32, first moment
  Tensor exp_avg_sq_;  // (total_elems) f32, second moment
  int64_t step_count_ = 0;
};

}  // namespace me
