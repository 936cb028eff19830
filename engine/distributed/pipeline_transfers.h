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

#include "engine/distributed/pipeline_order.h"

namespace me {

// How many tensors cross into and out of each of a rank's chunks (the sizes of
// Model::chunk_inputs and chunk_outputs: GPT sends one hidden state, T5's decoder stages the
// encoder output beside it). A chunk's backward sends as many gradients as its forward received.
struct ChunkTensors {
  std::vector<int64_t> inputs;   // per chunk
  std::vector<int64_t> outputs;  // per chunk

  // `n` tensors in and out of each of `vpp` chunks.
  static ChunkTensors uniform(int64_t vpp, int64_t n) {
    return {std::vector<int64_t>(static_cast<std::size_t>(vpp), n),
            std::vector<int64_t>(static_cast<std::size_t>(vpp), n)};
  }
};

// One tensor of a stage boundary or its gradient: tensor `tensor` of the output of order[action]
// leaving for `peer`, or of the input of order[action] arriving from `peer`. Tag 2 t carries
// forward tensor t, 2 t + 1 its gradient.
struct PipelineMessage {
  std::size_t action = 0;
  int64_t peer = 0;
  int tag = 0;
  int64_t tensor = 0;
};

// Messages posted together just before order[before_action] runs (order.size(): after the last
// action).
struct PipelineExchange {
  std::size_t before_action = 0;
  std::vector<PipelineMessage> sends;
  std::vector<PipelineMessage> receives;
};

// The exchanges of rank `pp_rank` of `pp` with `vpp` chunks per rank over `num_microbatches`, in
// the order they are posted; `order` is pipeline_order's for the same arguments. An action's
// tensors travel in index order, so each peer receives them in the order they were sent.
std::vector<PipelineExchange> pipeline_exchanges(const std::vector<PipelineAction>& order,
                                                 int64_t pp, int64_t pp_rank, int64_t vpp,
                                                 int64_t num_microbatches, bool forward_only,
                                                 const ChunkTensors& tensors);

}  // namespace me
