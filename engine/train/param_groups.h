// Parameter groups (Parameter::group): each group's parameters take their own gradient path, flat
// buffers, a data-parallel reducer over the group's own communicator, the overlap hooks and an
// optimizer (sharded over that communicator under the distributed optimizer). The dense group
// reduces over the data-parallel group; an expert group would reduce over its expert-data-parallel
// group. ParamGroups runs the trainer's finalize_grads and optimizer step over all of them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/checkpoint/checkpoint.h"
#include "engine/nn/context.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"
#include "engine/distributed/data_parallel_overlap.h"
#include "engine/distributed/grad_reducer.h"
#include "engine/parallel/tensor_collectives.h"

namespace me {

struct Recipe;

// The communicators one group reduces over.
struct ParamGroupComms {
  Communicator* data = nullptr;  // the group's data-parallel ranks, host memory (scalars)
  // The same ranks for the flat buffers' collectives: NCCL where there is a twin, else `data`.
  Communicator* buffers = nullptr;
  // The ranks (beyond tensor and pipeline parallelism) holding other parameters of the group
  // (expert parallelism), whose squares the gradient norm adds; null for the dense group.
  Communicator* disjoint = nullptr;
};

class ParamGroup {
 public:
  // `params` (forward order, all of group `name`) in flat buffers on `device` in the recipe's
  // compute dtype, laid out for `comms.data`'s size, with its reducer, overlap and optimizer.
  ParamGroup(std::string name, std::vector<Parameter*> params, const Recipe& recipe, Device device,
             const ParamGroupComms& comms);

  const std::string& name() const { return name_; }
  const ParamGroupComms& comms() const { return comms_; }
  ParamBuffers& buffers() { return *buffers_; }
  Optimizer& optimizer() { return *optimizer_; }
  GradReducer& reducer() { return *reducer_; }
  DataParallelOverlap& overlap() { return *overlap_; }

 private:
  std::string name_;
  ParamGroupComms comms_;
  std::unique_ptr<ParamBuffers> buffers_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<GradReducer> reducer_;
  std::unique_ptr<DataParallelOverlap> overlap_;
};

// Passes each module event on to every group's overlap hooks.
class ObserverFanOut final : public ModuleObserver {
 public:
  std::vector<ModuleObserver*> observers;
  void before_forward(Module& module) override;
  void after_backward(Module& module) override;
};

class ParamGroups {
 public:
  // `params` (forward order) split by Parameter::group, each keeping forward order: the dense group
  // first, then the others in order of first appearance, with the communicators `comms_for(name)`
  // gives.
  ParamGroups(const std::vector<Parameter*>& params, const Recipe& recipe, Device device,
              const std::function<ParamGroupComms(const std::string& group)>& comms_for);

  const std::vector<std::unique_ptr<ParamGroup>>& groups() const { return groups_; }
  // Every parameter, group by group.
  std::vector<Parameter*> parameters() const;
  int64_t numel() const;

  // The observer of training micro-batch `micro_batch` of `num_microbatches`: every group's
  // (DataParallelOverlap::observer), or null when none overlaps.
  ModuleObserver* observer(int64_t micro_batch, int64_t num_microbatches);

  void zero_grads();
  void sync_model_params();
  // Unscales every group's gradients by 1/scale; true when any of them is inf or nan.
  bool unscale_and_check(double scale);
  // Waits for the reduces started so far (GradReducer::wait_started), in every group.
  void wait_started();
  // Ends a step whose update is skipped (GradReducer::abandon), in every group.
  void abandon();

  // finalize_grads' reductions, in Megatron's order: tied copies summed over `embedding`, each
  // group's data-parallel reduce (finish), then the partial gradients summed over tp. Collective.
  void reduce(const GroupCommunicators& embedding, const TensorParallel& tp);
  void scale(double factor);
  // The global gradient norm over every group (engine/distributed/grad_norm.h). Collective.
  double grad_norm(const TensorParallel& tp, Communicator& pipeline);
  // Scales every group by clip_grad / (norm + 1e-6) when that is below 1 (grad_clip.h).
  void clip(double clip_grad, double norm);
  // Whether every group's reduced gradients are finite on every rank. Collective.
  bool all_finite(Communicator& pipeline);
  // Every group's optimizer step, then its parameter gather (or model-copy refresh).
  void step(double lr, double weight_decay);
  // Waits for every group's parameter gathers (before anything but a training forward reads).
  void wait_params();

  // Each group for a checkpoint, with its optimizer when `with_optimizer`.
  std::vector<CheckpointGroup> checkpoint_groups(bool with_optimizer) const;

 private:
  std::vector<std::unique_ptr<ParamGroup>> groups_;
  ObserverFanOut last_;     // the step's last micro-batch
  ObserverFanOut earlier_;  // the others
};

}  // namespace me
