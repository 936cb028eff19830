// Runs one step's micro-batches through a pipeline rank in pipeline_order: forwards from the
// batch or from the tensors the previous stage sent, backwards from the losses or from the
// gradients the next stage sent, with point-to-point sends and receives between them (one message
// per tensor the model declares for the boundary). Each (micro-batch, chunk) keeps its
// MicroBatchContext from its forward to its backward.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "engine/core/batch.h"
#include "engine/core/tensor.h"
#include "engine/models/model.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/pipeline_layout.h"
#include "engine/distributed/pipeline_order.h"
#include "engine/distributed/pipeline_transfers.h"

namespace me {

class Timers;

// What one run needs from its caller.
struct PipelineStep {
  int64_t num_microbatches = 1;
  bool forward_only = false;
  std::function<Batch(int64_t)> batch;                // micro-batch m on this rank
  std::function<MicroBatchContext(int64_t)> context;  // a fresh context for micro-batch m
  // Called after each chunk's forward with its context, whose losses it counts and (unless
  // forward_only) whose loss gradients it sets before that chunk's backward.
  std::function<void(MicroBatchContext&)> after_forward;
  Device device = Device::cpu();
};

class PipelineSchedule {
 public:
  // pipeline: the pipeline-parallel group (rank = stage). timers: Megatron's p2p timer names
  // ("forward-recv", "forward-send-backward-recv", ...) and the compute timers, or null.
  PipelineSchedule(Model& model, const PipelineStage& stage, Communicator& pipeline,
                   Timers* timers);

  // Every micro-batch's forward (and backward unless forward_only).
  void run(const PipelineStep& step);

 private:
  struct InFlight;

  // A buffer for an incoming tensor (host memory when the communicator takes only that).
  Tensor incoming(const TensorSpec& spec, const PipelineStep& step) const;
  // The tensors where the communicator reads them.
  NamedTensors outgoing(const NamedTensors& tensors) const;
  void start(std::string_view timer);
  void stop(std::string_view timer);

  Model& model_;
  PipelineStage stage_;
  Communicator& pipeline_;
  Timers* timers_;
};

}  // namespace me
