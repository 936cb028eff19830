// Recipe rule for overlapping the data-parallel communication: overlap_param_gather needs the
// distributed optimizer and overlap_grad_reduce (Megatron's validate_args asserts both).
#pragma once

#include "engine/recipe/rule_context.h"

namespace me {

void overlap_settings(RuleContext& c);

}  // namespace me
