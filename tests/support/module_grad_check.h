// Test support for module gradient checks (float64), on top of grad_check.h: a sampled central-
// difference check (whole models have too many parameters to probe every element), one for every
// parameter of a module, and a complete check of a Layer.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "engine/nn/module.h"
#include "tests/support/grad_check.h"

namespace me::test {

// check_gradient (grad_check.h) over every element when numel <= max_samples, else over
// max_samples elements picked by Philox (seeded by `context`). Refuses all-zero references.
void check_sampled_gradient(const std::function<double()>& loss, const Tensor& input,
                            const Tensor& analytic, int max_samples, std::string_view context,
                            const GradCheckOptions& options = {});

// check_sampled_gradient of every parameter's value against a snapshot of its grad.
void check_parameter_gradients(const std::vector<Parameter*>& params,
                               const std::function<double()>& loss, int max_samples = 32);

// Whole check of a Layer: binds its parameters (f64, values randomised around their init), draws
// x of input_shape and weights w like the output, and checks d/dx and d/dparams of
// weighted_sum(forward(x), w). Forward runs in training contexts with one seed, iteration and
// micro-batch, so dropout masks repeat between the analytic and the numeric passes.
void check_layer_gradients(Layer& layer, const Shape& input_shape, uint64_t seed);

}  // namespace me::test
