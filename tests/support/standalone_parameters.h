// Test helper: binds each parameter of a module to its own tensors (instead of the flat buffers of
// engine/optim/param_buffers), so a module can run forward/backward alone, in f32 or f64.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/nn/module.h"

namespace me::test {

// Gives every parameter a value of `dtype` initialised by its rule (initialize_parameter with
// `seed`) and a zeroed gradient of the same dtype, on the host.
void bind_standalone(const std::vector<Parameter*>& params, DType dtype, uint64_t seed);

// Sets every value to N(0, std) from `seed` (also biases and norm weights, which otherwise start
// at 0 or 1 and would leave parts of a gradient check untested).
void randomize_values(const std::vector<Parameter*>& params, double std, uint64_t seed);

void zero_grads(const std::vector<Parameter*>& params);

}  // namespace me::test
