// Model stage s = chunk * pp + rank: forward data flows to the next rank (the last rank's chunk c
// feeds rank 0's chunk c + 1), gradients to the previous one.
#include "engine/distributed/pipeline_transfers.h"

#include <utility>

namespace me {
namespace {

struct Route {
  int64_t pp, rank, last_model_stage;

  int64_t model_stage(const PipelineAction& a) const { return a.chunk * pp + rank; }
  bool receives(const PipelineAction& a) const {
    return a.forward() ? model_stage(a) > 0 : model_stage(a) < last_model_stage;
  }
  bool sends(const PipelineAction& a) const {
    return a.forward() ? model_stage(a) < last_model_stage : model_stage(a) > 0;
  }
  int64_t peer(const PipelineAction& a, bool sending) const {
    const bool downstream = a.forward() == sending;
    return (rank + (downstream ? 1 : pp - 1)) % pp;
  }
  static int tag(const PipelineAction& a, int64_t tensor) {
    return static_cast<int>(2 * tensor + (a.forward() ? 0 : 1));
  }
};

}  // namespace

std::vector<PipelineExchange> pipeline_exchanges(const std::vector<PipelineAction>& order,
                                                 int64_t pp, int64_t pp_rank, int64_t vpp,
                                                 int64_t num_microbatches, bool forward_only,
                                                 const ChunkTensors& tensors) {
  const Route route{pp, pp_rank, vpp * pp - 1};
  // A forward receives its chunk's inputs and sends its outputs; a backward the reverse.
  auto count = [&](const PipelineAction& a, bool sending) {
    const auto& per_chunk = a.forward() == sending ? tensors.outputs : tensors.inputs;
    return per_chunk.at(static_cast<std::size_t>(a.chunk));
  };
  // Step s runs order[step_starts[s], step_starts[s + 1]): the steady phase pairs order[w + 2k]
  // with the backward after it.
  const auto warmup = static_cast<std::size_t>(
      pipeline_warmup_forwards(pp, pp_rank, vpp, num_microbatches, forward_only));
  const std::size_t steady_end = forward_only ? warmup : order.size() - warmup;
  std::vector<std::size_t> step_starts;
  for (std::size_t i = 0; i < order.size(); i += (i >= warmup && i < steady_end) ? 2 : 1) {
    step_starts.push_back(i);
  }
  step_starts.push_back(order.size());

  const std::size_t steps = step_starts.size() - 1;
  // The outputs (sending) or inputs of step s's actions that cross to another rank.
  auto messages = [&](std::size_t s, bool sending) {
    std::vector<PipelineMessage> out;
    for (std::size_t i = step_starts[s]; i < step_starts[s + 1]; ++i) {
      const PipelineAction& a = order[i];
      if (!(sending ? route.sends(a) : route.receives(a))) continue;
      for (int64_t t = 0; t < count(a, sending); ++t) {
        out.push_back({i, route.peer(a, sending), Route::tag(a, t), t});
      }
    }
    return out;
  };
  // Before step s: step s - 1's outputs leave and step s's inputs arrive (s == steps: after the
  // last step).
  std::vector<PipelineExchange> exchanges;
  for (std::size_t s = 0; s <= steps; ++s) {
    PipelineExchange x;
    x.before_action = step_starts[s];
    if (s > 0) x.sends = messages(s - 1, true);
    if (s < steps) x.receives = messages(s, false);
    if (!x.sends.empty() || !x.receives.empty()) exchanges.push_back(std::move(x));
  }
  return exchanges;
}

}  // namespace me
