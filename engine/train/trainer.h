// The universal trainer loop: batch, forward/backward per micro-batch, finalize grads, optimizer
// step, log/eval/checkpoint/exit checks. Every model family runs through it unchanged.
#pragma once

#include <chrono>
#include <memory>

#include "datasets/dataset.h"
#include "datasets/vocabulary.h"
#include "engine/checkpoint/checkpoint.h"
#include "engine/checkpoint/checkpoint_writer.h"
#include "engine/models/model.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/optim/loss_scaler.h"
#include "engine/optim/lr_schedule.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/parallel_groups.h"
#include "engine/parallel/pipeline_layout.h"
#include "engine/distributed/pipeline_schedule.h"
#include "engine/parallel/topology.h"
#include "engine/recipe/recipe.h"
#include "engine/train/loss_totals.h"
#include "engine/train/metrics_log.h"
#include "engine/train/param_groups.h"
#include "engine/train/spike_guard.h"
#include "engine/distributed/timers.h"

namespace me {

class Trainer {
 public:
  Trainer(Recipe recipe, Communicator& comm);
  // Runs until train_iters, an exit condition or a signal; returns the process exit code.
  int run();

 private:
  struct StepResult {
    LossTotals losses;
    double grad_norm = 0.0;
    bool skipped = false;  // the loss scaler found inf/nan gradients: no update this iteration
  };

  void load_or_initialize();
  StepResult train_step();
  void finalize_grads(StepResult& result);
  // One step's micro-batches, forward and (unless forward_only) backward with loss_scale: in turn
  // on this rank (pp = 1), or through the pipeline schedule. Returns this rank's loss sums.
  LossTotals local_step(const Dataset& dataset, int64_t first_sample, bool forward_only,
                        double loss_scale);
  LossTotals pipeline_step(const Dataset& dataset, int64_t first_sample, bool forward_only,
                           double loss_scale);
  // Counts a micro-batch's losses into `totals` and, for training, sets each one's gradient in
  // ctx: Megatron's normalisation times the loss scale.
  void after_forward(MicroBatchContext& ctx, bool forward_only, double loss_scale,
                     LossTotals& totals) const;
  MicroBatchContext micro_batch_context(bool forward_only, int64_t micro_batch) const;
  // Sums the step's losses over the pipeline and data-parallel ranks.
  void reduce_losses(LossTotals& losses);
  // Unscales the gradients and updates the loss scale; false when they overflowed on any rank.
  bool unscale_grads(StepResult& result);
  // The validation losses over eval_iters global batches.
  std::vector<NamedValue> evaluate();
  void save();
  bool should_exit(const char** reason);
  Batch micro_batch(const Dataset& dataset, int64_t first_sample, int64_t micro_batch_index) const;
  // The data-parallel group: the world itself at tp 1 and pp 1 (context parallelism is
  // refused), which keeps the world's hang report on every collective there.
  Communicator& data_comm() { return topology_.tp > 1 || topology_.pp > 1 ? *groups_.data : comm_; }
  // The group gradients and parameters of the flat buffers travel over: NCCL where there is one.
  Communicator& buffer_comm() { return device_groups_.data ? *device_groups_.data : data_comm(); }
  // The communicators parameter group `group` reduces over: the data-parallel group for the dense
  // one; an me::Error for any other (no expert groups exist yet).
  ParamGroupComms group_comms(const std::string& group);

  Recipe recipe_;
  Communicator& comm_;
  Topology topology_;
  ParallelGroups groups_;  // loss sums and gradients reduce over groups_.data
  PipelineStage stage_;    // this rank's layers (all of them at pp 1)
  Device device_;
  // NCCL twins of groups_ when tensors live on CUDA and each rank has its own GPU (else null).
  ParallelGroups device_groups_;
  TensorParallel tp_;  // the group the model's modules are built with
  Vocabulary vocabulary_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<PipelineSchedule> pipeline_;  // pp > 1
  // Per parameter group: flat buffers, optimizer, data-parallel reducer and overlap hooks.
  std::unique_ptr<ParamGroups> param_groups_;
  std::unique_ptr<OptimizerParamScheduler> scheduler_;
  std::unique_ptr<LossScaler> loss_scaler_;  // fp16 (and bf16 with a static scale) only
  std::unique_ptr<Dataset> train_data_;
  std::unique_ptr<Dataset> valid_data_;
  TrainingState state_;
  MetricsLog metrics_;
  Timers timers_;
  SpikeGuard spike_guard_;
  CheckpointWriter checkpoint_writer_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace me
