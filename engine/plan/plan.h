// `megatron-engine plan`: what a recipe costs on a layout before anything is allocated:
// parameters (total and per rank), FLOPs, memory per rank, communication per step, pipeline
// bubble. Every figure comes from the registered model itself: its declared shapes and its
// modules' cost reports (engine/nn/module_cost.h).
#pragma once

#include <cstdint>
#include <string>

#include "engine/plan/memory_plan.h"
#include "engine/recipe/recipe.h"

namespace me {

struct CommunicationPlan {  // bytes the busiest rank sends per step
  double data_parallel = 0, tensor_parallel = 0, pipeline_parallel = 0;
};

struct PlanReport {
  int64_t world_size = 1;
  int64_t vocab_size = 0, padded_vocab_size = 0;
  double parameters = 0;            // the whole model
  double embedding_parameters = 0;  // the input embedding's: word (+ position) tables
  double parameters_per_rank = 0;   // the busiest rank (tp shard of its pipeline stage)
  double tokens_per_step = 0;
  // The modules' training FLOPs (GEMMs and attention's products: for GPT Megatron's formula,
  // megatron-facts 2.8), all ranks together.
  double flops_per_step = 0;
  double flops_per_token = 0;
  MemoryPlan memory;  // peak per rank as the allocator counts it (engine/plan/memory_plan.h)
  CommunicationPlan communication;
  double pipeline_bubble = 0;  // idle fraction of 1F1B: (pp - 1) / (vpp * micro-batches)
};

// `vocab_size` is the tokenizer's (unpadded) vocabulary.
PlanReport plan_recipe(const Recipe& recipe, int64_t vocab_size);

std::string format_plan(const PlanReport& report, const Recipe& recipe);

// The report as one JSON object (`megatron-engine plan --json`): every figure in plain units
// (bytes, FLOPs, parameters), memory for the busiest rank and for each pipeline rank.
std::string format_plan_json(const PlanReport& report, const Recipe& recipe);

}  // namespace me
