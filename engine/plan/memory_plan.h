// Peak memory per rank as the engine's allocator counts it (every tensor of the rank's device,
// Allocator::peak_bytes): the flat parameter, gradient and optimizer buffers of the rank's stage,
// exactly as ParamBuffers lays them out, plus the activations the pipeline schedule holds at its
// busiest moment and the transient buffers of the backward running then.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/recipe/recipe.h"

namespace me {

struct RankMemory {  // bytes on one rank
  // fp32 main parameters (whole on every rank, also with the distributed optimizer), plus the
  // bf16/f16 model copy under mixed precision.
  double weights = 0;
  double gradients = 0;  // the fp32 gradient buffer
  double optimizer = 0;  // Adam moments or SGD momentum: this rank's shard
  // What in-flight micro-batches keep for their backward at the peak (with the recipe's
  // recompute setting), including the logits on the last stage.
  double activations = 0;
  // activations + workspace at the peak of the same schedule with every layer fully recomputed
  // (recompute_granularity full, method uniform, one layer per group).
  double activations_recompute = 0;
  // Transient buffers of the backward running at the peak (the head's hidden gradient, a
  // layer's gradients, a recomputed group's activations).
  double workspace = 0;
  double total() const { return weights + gradients + optimizer + activations + workspace; }
};

struct MemoryPlan : RankMemory {   // the busiest rank's figures
  int64_t pipeline_rank = 0;       // the busiest rank's pipeline stage
  std::vector<RankMemory> stages;  // by pipeline rank (every tp and dp rank of a stage alike)
};

// The memory of every pipeline stage of `recipe` (built declarations-only, as the trainer builds
// the stage on tensor-parallel rank 0) and the busiest of them.
MemoryPlan plan_memory(const Recipe& recipe, int64_t padded_vocab_size);

}  // namespace me
