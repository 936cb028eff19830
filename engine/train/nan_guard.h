// check_for_nan_in_loss_and_grad: the error that stops a run whose loss or gradients went NaN/Inf,
// naming the iteration, the rank and the first parameter (forward order) with a bad gradient.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/nn/parameter.h"

namespace me {

// The name of the first of `params` (forward order) whose gradient holds a NaN or Inf.
std::optional<std::string> first_non_finite_grad(const std::vector<Parameter*>& params);

// The exit-code-4 error for a non-finite loss sum or gradient norm at `iteration` (1-based).
Error non_finite_error(int64_t iteration, const std::string& rank, double loss_sum,
                       double grad_norm, const std::vector<Parameter*>& params);

}  // namespace me
