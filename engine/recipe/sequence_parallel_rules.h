// Recipe rule for sequence parallelism: the sequence must split evenly over the tensor-parallel
// ranks (Megatron splits it with no remainder too); and how a run reads the flag.
#pragma once

#include "engine/recipe/rule_context.h"

namespace me {

// With parallel.sequence_parallel and tensor_model_parallel_size > 1, model.seq_length must be
// divisible by the tensor-parallel size. At tp 1 the flag is accepted (see below).
void sequence_parallel_settings(RuleContext& c);

// Whether a run splits the sequence: parallel.sequence_parallel with tensor_model_parallel_size
// > 1. Megatron turns the flag off with a warning at tp 1; so do we (logged when `log`).
bool sequence_parallel_enabled(const Recipe& recipe, bool log);

}  // namespace me
