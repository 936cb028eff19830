// Recompute rules. Deviation: Megatron ignores recompute_method and recompute_num_layers when
// recompute_granularity is unset; here setting them alone is an error, since it silently changes
// nothing.
#include "engine/recipe/recompute_rules.h"

#include <fmt/format.h>

namespace me {

void recompute_settings(RuleContext& c) {
  if (!c.usable({"train.recompute_granularity", "train.recompute_method",
                 "train.recompute_num_layers"})) {
    return;
  }
  const TrainConfig& t = c.r().train;
  const std::string granularity = t.recompute_granularity.value_or("");
  if (granularity == "full") {
    if (!t.recompute_method) {
      c.fail({"train.recompute_method", "train.recompute_granularity"},
             "train.recompute_granularity: full needs train.recompute_method (uniform or block)");
    }
    if (!t.recompute_num_layers) {
      c.fail({"train.recompute_num_layers", "train.recompute_granularity"},
             "train.recompute_granularity: full needs train.recompute_num_layers (layers per "
             "chunk for uniform, recomputed layers per pipeline stage for block)");
    }
    return;
  }
  const std::string what = granularity.empty() ? "without train.recompute_granularity"
                                               : "with train.recompute_granularity: " + granularity;
  if (t.recompute_method) {
    c.fail({"train.recompute_method", "train.recompute_granularity"},
           fmt::format("train.recompute_method ({}) is only used with "
                       "train.recompute_granularity: full; it must be null {}",
                       *t.recompute_method, what));
  }
  if (t.recompute_num_layers) {
    c.fail({"train.recompute_num_layers", "train.recompute_granularity"},
           fmt::format("train.recompute_num_layers ({}) is only used with "
                       "train.recompute_granularity: full; it must be null {}",
                       *t.recompute_num_layers, what));
  }
}

}  // namespace me
