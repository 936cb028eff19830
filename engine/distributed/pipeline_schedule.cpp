// Activations and gradients travel under separate tags: at pp 2 with interleaving both flow
// between the same two ranks in each direction. Each step's sends and the next step's receives
// are one Communicator::exchange (pipeline_transfers.h says why), timed under Megatron's names.
#include "engine/distributed/pipeline_schedule.h"

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "engine/distributed/timers.h"

namespace me {
namespace {

// Megatron's timer names for an exchange: "forward-send", "backward-recv",
// "forward-send-backward-recv", ...; an exchange with both directions on one side is Megatron's
// "forward-backward-send-forward-backward-recv".
std::string exchange_timer(const PipelineExchange& x, const std::vector<PipelineAction>& order) {
  auto part = [&](const std::vector<PipelineMessage>& messages) {
    bool forward = false, backward = false;
    for (const PipelineMessage& m : messages)
      (order[m.action].forward() ? forward : backward) = true;
    return forward && backward ? "both" : forward ? "forward" : backward ? "backward" : "";
  };
  const std::string sends = part(x.sends);
  const std::string receives = part(x.receives);
  if (sends == "both" || receives == "both") return "forward-backward-send-forward-backward-recv";
  if (sends.empty()) return receives + "-recv";
  if (receives.empty()) return sends + "-send";
  return sends + "-send-" + receives + "-recv";
}

}  // namespace

struct PipelineSchedule::InFlight {
  MicroBatchContext ctx;
};

PipelineSchedule::PipelineSchedule(Model& model, const PipelineStage& stage, Communicator& pipeline,
                                   Timers* timers)
    : model_(model), stage_(stage), pipeline_(pipeline), timers_(timers) {
  ME_CHECK(pipeline_.size() == stage_.size && pipeline_.rank() == stage_.rank,
           "pipeline group {}/{} for stage {}/{}", pipeline_.rank(), pipeline_.size(), stage_.rank,
           stage_.size);
}

void PipelineSchedule::start(std::string_view timer) {
  if (timers_) timers_->start(timer);
}

void PipelineSchedule::stop(std::string_view timer) {
  if (timers_) timers_->stop(timer);
}

Tensor PipelineSchedule::incoming(const TensorSpec& spec, const PipelineStep& step) const {
  const bool host = step.device.is_cpu() || pipeline_.takes_device_memory();
  return Tensor::empty(spec.shape, spec.dtype, host ? step.device : Device::cpu());
}

NamedTensors PipelineSchedule::outgoing(const NamedTensors& tensors) const {
  if (pipeline_.takes_device_memory()) return tensors;
  NamedTensors out;
  for (const auto& [name, t] : tensors.tensors) {
    out.tensors[name] = t.device().is_cpu() ? t : t.to(Device::cpu());
  }
  return out;
}

void PipelineSchedule::run(const PipelineStep& step) {
  const int64_t vpp = static_cast<int64_t>(stage_.chunks.size());
  // What crosses each chunk's boundaries, in the order the tensors travel.
  std::vector<std::vector<TensorSpec>> chunk_inputs, chunk_outputs;
  ChunkTensors tensors;
  for (int64_t c = 0; c < vpp; ++c) {
    chunk_inputs.push_back(model_.chunk_inputs(c));
    chunk_outputs.push_back(model_.chunk_outputs(c));
    tensors.inputs.push_back(static_cast<int64_t>(chunk_inputs.back().size()));
    tensors.outputs.push_back(static_cast<int64_t>(chunk_outputs.back().size()));
  }
  const auto order =
      pipeline_order(stage_.size, stage_.rank, vpp, step.num_microbatches, step.forward_only);
  const auto exchanges = pipeline_exchanges(order, stage_.size, stage_.rank, vpp,
                                            step.num_microbatches, step.forward_only, tensors);
  // A forward receives its chunk's inputs and sends its outputs; a backward receives the
  // outputs' gradients and sends the inputs'.
  auto spec_of = [&](const PipelineMessage& m, bool sending) -> const TensorSpec& {
    const PipelineAction& a = order[m.action];
    const auto& specs = a.forward() == sending ? chunk_outputs : chunk_inputs;
    return specs.at(static_cast<size_t>(a.chunk)).at(static_cast<size_t>(m.tensor));
  };
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<InFlight>> in_flight;
  std::map<std::size_t, NamedTensors> inputs;   // by action: received, not yet consumed
  std::map<std::size_t, NamedTensors> outputs;  // by action: computed, not yet sent
  std::vector<bool> sent(order.size(), false);
  for (const PipelineExchange& x : exchanges) {
    for (const PipelineMessage& m : x.sends) sent[m.action] = true;
  }
  auto next_exchange = exchanges.begin();
  // Posts the exchange due before order[i] (i == order.size(): after the last action).
  auto exchange_before = [&](std::size_t i) {
    if (next_exchange == exchanges.end() || next_exchange->before_action != i) return;
    std::vector<PeerMessage> sends, receives;
    for (const PipelineMessage& m : next_exchange->sends) {
      Tensor& t = outputs.at(m.action).tensors.at(spec_of(m, true).name);
      sends.push_back({t.raw_data(), static_cast<int64_t>(t.nbytes()), m.peer, m.tag});
    }
    for (const PipelineMessage& m : next_exchange->receives) {
      const TensorSpec& spec = spec_of(m, false);
      Tensor& t = inputs[m.action].tensors.emplace(spec.name, incoming(spec, step)).first->second;
      receives.push_back({t.raw_data(), static_cast<int64_t>(t.nbytes()), m.peer, m.tag});
    }
    const std::string timer = exchange_timer(*next_exchange, order);
    start(timer);
    pipeline_.exchange(sends, receives);
    stop(timer);
    for (const PipelineMessage& m : next_exchange->sends) outputs.erase(m.action);
    ++next_exchange;
  };
  for (std::size_t i = 0; i < order.size(); ++i) {
    exchange_before(i);
    const PipelineAction& action = order[i];
    const std::pair key{action.microbatch, action.chunk};
    NamedTensors input;
    if (auto it = inputs.find(i); it != inputs.end()) {
      input = it->second.to(step.device);
      inputs.erase(it);
    }
    NamedTensors output;
    if (action.forward()) {
      auto flight = std::make_unique<InFlight>(InFlight{step.context(action.microbatch)});
      const Batch batch = step.batch(action.microbatch);
      start("forward-compute");
      output = model_.forward_chunk(action.chunk, batch, input, flight->ctx);
      stop("forward-compute");
      step.after_forward(flight->ctx);
      if (!step.forward_only) in_flight.emplace(key, std::move(flight));
    } else {
      auto it = in_flight.find(key);
      ME_CHECK(it != in_flight.end(), "backward of micro-batch {} chunk {} before its forward",
               action.microbatch, action.chunk);
      start("backward-compute");
      output = model_.backward_chunk(action.chunk, input, it->second->ctx);
      stop("backward-compute");
      in_flight.erase(it);
    }
    if (sent[i]) outputs.emplace(i, outgoing(output));
  }
  exchange_before(order.size());
  pipeline_.wait_sends();
  ME_CHECK(next_exchange == exchanges.end(), "{} pipeline exchanges left unposted",
           exchanges.end() - next_exchange);
  ME_CHECK(in_flight.empty(), "{} micro-batch chunks left without a backward", in_flight.size());
}

}  // namespace me
