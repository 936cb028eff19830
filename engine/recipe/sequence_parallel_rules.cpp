// Sequence-parallel rule: every rank's slice of the B * T token rows is B * seq_length / tp.
#include "engine/recipe/sequence_parallel_rules.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace me {

void sequence_parallel_settings(RuleContext& c) {
  if (!c.usable({"parallel.sequence_parallel", "model.seq_length",
                 "parallel.tensor_model_parallel_size"})) {
    return;
  }
  const Recipe& r = c.r();
  const int64_t tp = r.parallel.tensor_model_parallel_size;
  if (!r.parallel.sequence_parallel || tp <= 1 || r.model.seq_length % tp == 0) return;
  c.fail({"model.seq_length", "parallel.sequence_parallel", "parallel.tensor_model_parallel_size"},
         fmt::format("with parallel.sequence_parallel, model.seq_length ({}) must be divisible by "
                     "parallel.tensor_model_parallel_size ({})",
                     r.model.seq_length, tp));
}

bool sequence_parallel_enabled(const Recipe& recipe, bool log) {
  if (!recipe.parallel.sequence_parallel) return false;
  if (recipe.parallel.tensor_model_parallel_size > 1) return true;
  if (log) {
    spdlog::warn(
        "parallel.sequence_parallel is ignored at tensor_model_parallel_size 1 (nothing to split "
        "over); Megatron disables it the same way");
  }
  return false;
}

}  // namespace me
