// check_for_nan_in_loss_and_grad: the error that stops a run whose loss or gradients went NaN/Inf,
// naming the iteration, the rank and the first parameter (forward order) with a bad gradient.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/core/error.h"
#include "engine/optim/param_buffers.h"

namespace me {

// The name of the first parameter, in forward order, whose gradient holds a NaN or Inf.
std::optional<std::string> first_non_finite_grad(const ParamBuffers& buffers);

// The exit-code-4 error for a non-finite loss sum or gradient norm at `iteration` (1-based).
Error non_finite_error(int64_t iteration, const std::string& rank, double loss_sum,
                       double grad_norm, const ParamBuffers& buffers);

}  // namespace me
