// Activations and gradients travel under separate tags: at pp 2 with interleaving both flow
// between the same two ranks in each direction. The p2p timers follow Megatron's pairing: a
// forward's send and the next backward's receive are one "forward-send-backward-recv", a
// backward's send and the next forward's receive one "backward-send-forward-recv". Sends are
// buffered (Communicator::send), so two stages sending to each other cannot deadlock.
#include "engine/parallel/pipeline_schedule.h"

#include <map>
#include <memory>
#include <utility>

#include "engine/train/timers.h"

namespace me {

struct PipelineSchedule::InFlight {
  MicroBatchContext ctx;
  LossSums sums;
};

PipelineSchedule::PipelineSchedule(Model& model, const PipelineStage& stage, Communicator& pipeline,
                                   Timers* timers)
    : model_(model), stage_(stage), pipeline_(pipeline), timers_(timers) {
  ME_CHECK(pipeline_.size() == stage_.size && pipeline_.rank() == stage_.rank,
           "pipeline group {}/{} for stage {}/{}", pipeline_.rank(), pipeline_.size(), stage_.rank,
           stage_.size);
}

int64_t PipelineSchedule::last_model_stage() const {
  return static_cast<int64_t>(stage_.chunks.size()) * stage_.size - 1;
}

bool PipelineSchedule::receives(const PipelineAction& action) const {
  const int64_t s = model_stage(action.chunk);
  return action.forward() ? s > 0 : s < last_model_stage();
}

bool PipelineSchedule::sends(const PipelineAction& action) const {
  const int64_t s = model_stage(action.chunk);
  return action.forward() ? s < last_model_stage() : s > 0;
}

// Forward data flows to the next rank (the last rank's chunk c feeds rank 0's chunk c + 1),
// gradients to the previous one.
int64_t PipelineSchedule::peer(const PipelineAction& action, bool sending) const {
  const bool downstream = action.forward() == sending;
  return (stage_.rank + (downstream ? 1 : stage_.size - 1)) % stage_.size;
}

void PipelineSchedule::start(const char* timer) {
  if (timers_) timers_->start(timer);
}

void PipelineSchedule::stop(const char* timer) {
  if (timers_) timers_->stop(timer);
}

Tensor PipelineSchedule::receive(const PipelineAction& action, const PipelineStep& step) {
  const bool host = step.device.is_cpu() || pipeline_.takes_device_memory();
  Tensor t = Tensor::empty(step.hidden_shape, step.dtype, host ? step.device : Device::cpu());
  pipeline_.recv(t.raw_data(), static_cast<int64_t>(t.nbytes()), peer(action, false), tag(action));
  return t.to(step.device);
}

void PipelineSchedule::send(const PipelineAction& action, const Tensor& t) {
  const bool host = t.device().is_cpu() || pipeline_.takes_device_memory();
  const Tensor staged = host ? t : t.to(Device::cpu());
  pipeline_.send(staged.raw_data(), static_cast<int64_t>(staged.nbytes()), peer(action, true),
                 tag(action));
}

LossSums PipelineSchedule::run(const PipelineStep& step) {
  const auto order =
      pipeline_order(stage_.size, stage_.rank, static_cast<int64_t>(stage_.chunks.size()),
                     step.num_microbatches, step.forward_only);
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<InFlight>> in_flight;
  LossSums total;
  std::optional<Tensor> received;  // the next action's input, taken with the previous send
  for (size_t i = 0; i < order.size(); ++i) {
    const PipelineAction& action = order[i];
    const std::pair key{action.microbatch, action.chunk};
    Tensor input;
    if (received) {
      input = std::move(*received);
      received.reset();
    } else if (receives(action)) {
      const char* timer = action.forward() ? "forward-recv" : "backward-recv";
      start(timer);
      input = receive(action, step);
      stop(timer);
    }
    Tensor output;
    if (action.forward()) {
      auto flight = std::make_unique<InFlight>(InFlight{step.context(action.microbatch), {}});
      const Batch batch = step.batch(action.microbatch);
      start("forward-compute");
      ChunkOutput out = model_.forward_chunk(action.chunk, batch, input, flight->ctx);
      stop("forward-compute");
      flight->sums = out.sums;
      total.loss_sum += out.sums.loss_sum;
      total.num_tokens += out.sums.num_tokens;
      output = std::move(out.hidden);
      if (!step.forward_only) in_flight.emplace(key, std::move(flight));
    } else {
      auto it = in_flight.find(key);
      ME_CHECK(it != in_flight.end(), "backward of micro-batch {} chunk {} before its forward",
               action.microbatch, action.chunk);
      const double grad =
          stage_.holds_loss(action.chunk) ? step.loss_sum_grad(it->second->sums) : 0.0;
      start("backward-compute");
      output = model_.backward_chunk(action.chunk, grad, input, it->second->ctx);
      stop("backward-compute");
      in_flight.erase(it);
    }
    if (!sends(action)) continue;
    // The next action's receive goes with this send when it turns direction.
    const PipelineAction* next = i + 1 < order.size() ? &order[i + 1] : nullptr;
    if (next && next->forward() != action.forward() && receives(*next)) {
      const char* timer =
          action.forward() ? "forward-send-backward-recv" : "backward-send-forward-recv";
      start(timer);
      send(action, output);
      received = receive(*next, step);
      stop(timer);
    } else {
      const char* timer = action.forward() ? "forward-send" : "backward-send";
      start(timer);
      send(action, output);
      stop(timer);
    }
  }
  pipeline_.wait_sends();
  ME_CHECK(in_flight.empty(), "{} micro-batch chunks left without a backward", in_flight.size());
  return total;
}

}  // namespace me
