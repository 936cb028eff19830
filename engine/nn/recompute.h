// Activation recompute (Megatron recompute_granularity / recompute_method / recompute_num_layers).
// A checkpointed span of layers keeps only its input in the micro-batch context; backward re-runs
// the span's forward in a scratch context with the same sequence and random identity (dropout
// masks are Philox keyed by seed, module name, iteration and micro-batch, so they come out the
// same), then runs backward through it. Gradients are bitwise those without recompute.
//
// What each setting saves per layer and token (C hidden, H heads, F ffn width; MHA, GeLU):
//   none       16C + H + 4: norm inputs and statistics, qkv/fc1 inputs, q, k, v, attention
//              output, log-sum-exp, both MLP activations (fc1 output, fc2 input)
//   selective  12C + 4: the self-attention slot (linear_qkv, split, q/k norm, RoPE, core
//              attention, linear_proj) is checkpointed at its input; q, k, v, the attention output
//              and the log-sum-exp are recomputed, at the cost of one extra qkv and proj GEMM and
//              attention forward per layer
//   full       C per checkpointed chunk (its input); the layers inside save nothing
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "engine/nn/module.h"

namespace me {

// Megatron's full recompute of a stack (train.recompute_granularity: full): recompute_method
// uniform (spans of num_layers layers) or block (each of the first num_layers layers alone);
// an empty method: no full recompute.
struct FullRecompute {
  std::string method;
  int64_t num_layers = 0;
};

// Layers [begin, end) of a stack, recomputed as one unit when `recompute`.
struct RecomputeChunk {
  size_t begin;
  size_t end;
  bool recompute;

  bool operator==(const RecomputeChunk&) const = default;
};

// How `num_layers` layers split into chunks: uniform makes chunks of recompute.num_layers (the
// last one shorter), block recomputes each of the first recompute.num_layers layers alone and
// runs the rest normally; no full recompute is one plain chunk. The recipe is validated
// (engine/recipe/recompute_rules.h).
std::vector<RecomputeChunk> recompute_chunks(const FullRecompute& recompute, size_t num_layers);

// Forward through `layers` saving only x under `key` in ctx (the layers' own saves are dropped).
Tensor checkpointed_forward(const Module& key, std::span<Layer* const> layers, const Tensor& x,
                            MicroBatchContext& ctx);
// Re-runs the forward of `layers` from the input saved under `key`, then backward through them.
Tensor checkpointed_backward(const Module& key, std::span<Layer* const> layers, const Tensor& dy,
                             MicroBatchContext& ctx);

// A run of layers (a pipeline chunk of a model's stack) under full recompute; tells the
// context's observer as each layer starts its forward and ends its backward.
class RecomputedLayers {
 public:
  RecomputedLayers(const FullRecompute& recompute, std::vector<Layer*> layers);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx);
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx);

  const std::vector<RecomputeChunk>& chunks() const { return chunks_; }
  // The layers' costs in sequence (engine/nn/module_cost.h), each checkpointed span counted as
  // its input until its backward, which re-runs the span's forward (holding every layer's saved
  // tensors) before running backward through it.
  ModuleCost cost(const CostQuery& query) const;

 private:
  // The context key under which a checkpointed chunk saves its input.
  struct ChunkKey final : Module {
    ChunkKey() : Module("recompute_chunk") {}
  };

  std::span<Layer* const> span(const RecomputeChunk& chunk) const;

  std::vector<Layer*> layers_;
  std::vector<RecomputeChunk> chunks_;
  std::deque<ChunkKey> keys_;  // one per chunk; deque: stable addresses
};

}  // namespace me
