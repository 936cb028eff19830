// The optimizer interface: one update over the flat buffers per successful step, with state kept
// in tensors laid out like the parameter buffer (so checkpoints and shards slice them alike).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/optim/optimizer_shard.h"
#include "engine/optim/param_buffers.h"
#include "engine/registry/registry.h"

namespace me {

struct Recipe;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of all parameters with this LR and weight decay (wd applied only where
  // Parameter::weight_decay). Advances step_count() by one.
  virtual void step(double lr, double weight_decay) = 0;
  // State tensors by name (adam: exp_avg, exp_avg_sq; sgd: momentum_buffer), laid out like the
  // flat param buffer, or with a sharded optimizer like the concatenated bucket shards
  // (optimizer_shard.h). Checkpoints read and overwrite them in place.
  virtual std::vector<std::pair<std::string, Tensor*>> state_buffers() = 0;
  // The part of the buffers this optimizer updates.
  virtual OptimizerShard shard() const = 0;
  virtual int64_t step_count() const = 0;
  virtual void set_step_count(int64_t steps) = 0;
};

// Optimizers are built over a chunk's buffers from the recipe's `optimizer` section, updating
// (and keeping state for) `shard` of them.
ME_DECLARE_REGISTRY(OptimizerRegistry, "optimizer", Optimizer, ParamBuffers&, const Recipe&,
                    const OptimizerShard&);

// A range [begin, end) of the flat buffer whose parameters all share one weight-decay flag.
struct UpdateRun {
  int64_t begin;
  int64_t end;
  bool weight_decay;
  int64_t state_begin;  // where [begin, end) sits in the optimizer's state tensors
};

// Adjacent slots with the same weight-decay flag merged into one run, so an update is a handful
// of kernel calls. A run spans the padding between its parameters (alignment and bucket ends:
// zeros with zero gradient, which every update leaves zero) but not the padding after the last.
// With a sharded optimizer the runs are clipped to the rank's bucket shards.
std::vector<UpdateRun> update_runs(const ParamLayout& layout, const OptimizerShard& shard = {});

}  // namespace me
