// The NaN/Inf stop: finds the first parameter whose gradient went bad and words the error.
#include "engine/train/nan_guard.h"

#include <fmt/format.h>

#include "kernels/elementwise.h"

namespace me {

std::optional<std::string> first_non_finite_grad(const std::vector<Parameter*>& params) {
  for (const Parameter* p : params) {
    if (!all_finite(p->grad)) return p->name;
  }
  return std::nullopt;
}

Error non_finite_error(int64_t iteration, const std::string& rank, double loss_sum,
                       double grad_norm, const std::vector<Parameter*>& params) {
  const std::optional<std::string> name = first_non_finite_grad(params);
  const std::string culprit =
      name ? fmt::format("the first parameter whose gradient holds NaN/Inf is '{}'", *name)
           : std::string("every gradient is finite, so the loss itself went bad");
  return Error(fmt::format("loss or gradient is not finite at iteration {} on {} (loss sum {}, "
                           "grad norm {}); {}. Stopped without saving: the last checkpoint is the "
                           "last good state",
                           iteration, rank, loss_sum, grad_norm, culprit),
               "train.check_for_nan_in_loss_and_grad", ExitCode::kNonFinite);
}

}  // namespace me
