// Runs one step's micro-batches through a pipeline rank in pipeline_order: forwards from the
// batch or from the hidden state the previous stage sent, backwards from the loss or from the
// gradient the next stage sent, with point-to-point sends and receives between them. Each
// (micro-batch, chunk) keeps its MicroBatchContext from its forward to its backward.
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
#include "engine/parallel/pipeline_order.h"
#include "engine/parallel/pipeline_transfers.h"

namespace me {

class Timers;

// What one run needs from its caller.
struct PipelineStep {
  int64_t num_microbatches = 1;
  bool forward_only = false;
  std::function<Batch(int64_t)> batch;                   // micro-batch m on this rank
  std::function<MicroBatchContext(int64_t)> context;     // a fresh context for micro-batch m
  std::function<double(const LossSums&)> loss_sum_grad;  // d(loss_sum) for a micro-batch's sums
  Shape hidden_shape;  // (micro_batch_size, seq_length, hidden_size): what stages exchange
  DType dtype = DType::kF32;
  Device device = Device::cpu();
};

class PipelineSchedule {
 public:
  // pipeline: the pipeline-parallel group (rank = stage). timers: Megatron's p2p timer names
  // ("forward-recv", "forward-send-backward-recv", ...) and the compute timers, or null.
  PipelineSchedule(Model& model, const PipelineStage& stage, Communicator& pipeline,
                   Timers* timers);

  // Every micro-batch's forward (and backward unless forward_only). Returns the summed loss sums,
  // which only the last stage computes (zero elsewhere).
  LossSums run(const PipelineStep& step);

 private:
  struct InFlight;

  // A buffer for an incoming hidden state (host memory when the communicator takes only that).
  Tensor incoming(const PipelineStep& step) const;
  // `t` where the communicator reads it.
  Tensor outgoing(const Tensor& t) const;
  void start(std::string_view timer);
  void stop(std::string_view timer);

  Model& model_;
  PipelineStage stage_;
  Communicator& pipeline_;
  Timers* timers_;
};

}  // namespace me
