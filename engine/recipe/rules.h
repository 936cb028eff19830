// Cross-field recipe rules (Megatron's validate_args checks, and the engine's honest "not
// supported yet" limits): small named functions, each citing the keys it reads.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/error.h"
#include "engine/recipe/validate.h"

namespace me {

// Appends an error for every broken rule. A rule whose keys hold rejected values is skipped, so a
// typo is reported once and not again as a broken combination. world_size >= 1.
void check_rules(const FieldCheck& fields, int64_t world_size, std::vector<Error>& errors);

// "Not supported yet" errors for settings Megatron accepts but this engine cannot run today
// (tensor/pipeline/context parallelism, RoPE, RMSNorm, ...), naming the key and the work area.
void check_unsupported(const FieldCheck& fields, int64_t world_size, std::vector<Error>& errors);

}  // namespace me
