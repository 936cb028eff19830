// overlap_param_gather's prerequisites, reported at the first of the keys the recipe sets.
#include "engine/recipe/overlap_rules.h"

namespace me {

void overlap_settings(RuleContext& c) {
  const auto& p = c.r().parallel;
  if (!c.usable({"parallel.overlap_param_gather", "parallel.use_distributed_optimizer",
                 "parallel.overlap_grad_reduce"}) ||
      !p.overlap_param_gather) {
    return;
  }
  if (!p.use_distributed_optimizer) {
    c.fail({"parallel.overlap_param_gather", "parallel.use_distributed_optimizer"},
           "parallel.overlap_param_gather needs parallel.use_distributed_optimizer: true (it "
           "overlaps the distributed optimizer's parameter all-gather)");
  }
  if (!p.overlap_grad_reduce) {
    c.fail({"parallel.overlap_param_gather", "parallel.overlap_grad_reduce"},
           "parallel.overlap_param_gather needs parallel.overlap_grad_reduce: true (as in "
           "Megatron)");
  }
}

}  // namespace me
