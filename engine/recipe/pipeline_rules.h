// Recipe rule for pipeline layouts: Megatron's checks on pipeline_model_parallel_size,
// decoder_first/last_pipeline_num_layers and num_layers_per_virtual_pipeline_stage (arguments.py,
// TransformerConfig) and the interleaved schedule's micro-batch count (schedules.py).
#pragma once

#include "engine/recipe/rule_context.h"

namespace me {

// Layers divide into the stages (even, uneven or interleaved) with at least one layer each, and
// the interleaved schedule gets a multiple of pp micro-batches.
void pipeline_layout_rules(RuleContext& c);

}  // namespace me
