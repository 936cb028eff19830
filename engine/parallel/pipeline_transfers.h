// What a pipeline rank sends and receives, and when: pure arithmetic over pipeline_order, so the
// schedule and a rendezvous check of every layout share one definition. Megatron's grouping: the
// order runs in steps (a warm-up forward, a steady forward + backward pair, a cool-down backward);
// after each step one exchange sends the step's outputs and receives the next step's inputs
// together. That holds even where a send waits for its receive (NCCL): two neighbours sending to
// each other post both receives in the same exchange, so neither can block the other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/parallel/pipeline_order.h"

namespace me {

// A hidden state or its gradient: the output of order[action] leaving for `peer`, or the input
// of order[action] arriving from `peer`. Tag 0 carries hidden states, 1 their gradients.
struct PipelineMessage {
  std::size_t action = 0;
  int64_t peer = 0;
  int tag = 0;
};

// Messages posted together just before order[before_action] runs (order.size(): after the last
// action).
struct PipelineExchange {
  std::size_t before_action = 0;
  std::vector<PipelineMessage> sends;
  std::vector<PipelineMessage> receives;
};

// The exchanges of rank `pp_rank` of `pp` with `vpp` chunks per rank over `num_microbatches`, in
// the order they are posted; `order` is pipeline_order's for the same arguments.
std::vector<PipelineExchange> pipeline_exchanges(const std::vector<PipelineAction>& order,
                                                 int64_t pp, int64_t pp_rank, int64_t vpp,
                                                 int64_t num_microbatches, bool forward_only);

}  // namespace me
