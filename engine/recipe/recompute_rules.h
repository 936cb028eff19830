// Recipe rule for activation recompute: Megatron's recompute_granularity / recompute_method /
// recompute_num_layers combinations (TransformerConfig.__post_init__).
#pragma once

#include "engine/recipe/rule_context.h"

namespace me {

// full needs recompute_method and recompute_num_layers; selective and no recompute forbid both.
void recompute_settings(RuleContext& c);

}  // namespace me
