// `megatron-engine plan`: what a recipe costs on a layout before anything is allocated:
// parameters (total and per rank), FLOPs, memory per rank, communication per step, pipeline
// bubble. Parameter counts come from the registered model itself (its declared shapes).
#pragma once

#include <cstdint>
#include <string>

#include "engine/recipe/recipe.h"

namespace me {

struct MemoryPlan {  // bytes on the busiest rank
  double weights = 0, gradients = 0, optimizer = 0;
  double activations = 0;            // in-flight micro-batches, as this engine saves them
  double activations_recompute = 0;  // the same with full recompute (layer inputs only)
  double workspace = 0;              // the largest transient buffer (logits gradient)
  double total() const { return weights + gradients + optimizer + activations + workspace; }
};

struct CommunicationPlan {  // bytes each rank sends per step
  double data_parallel = 0, tensor_parallel = 0, pipeline_parallel = 0;
};

struct PlanReport {
  int64_t world_size = 1;
  int64_t vocab_size = 0, padded_vocab_size = 0;
  double parameters = 0;           // the whole model
  double embedding_parameters = 0;  // word (+ position) embeddings
  double parameters_per_rank = 0;  // the busiest rank (tp shard of its pipeline stage)
  double tokens_per_step = 0;
  double flops_per_step = 0;  // Megatron's formula (megatron-facts 2.8), all ranks together
  double flops_per_token = 0;
  MemoryPlan memory;
  CommunicationPlan communication;
  double pipeline_bubble = 0;  // idle fraction of 1F1B: (pp - 1) / (vpp * micro-batches)
};

// `vocab_size` is the tokenizer's (unpadded) vocabulary.
PlanReport plan_recipe(const Recipe& recipe, int64_t vocab_size);

std::string format_plan(const PlanReport& report, const Recipe& recipe);

}  // namespace me
