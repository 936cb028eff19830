// Inverted dropout with a mask regenerated from Philox (seed, stream, element index), so backward
// needs no stored mask and results do not depend on thread count.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace me {

// Element i is kept iff philox_uniform(seed, stream, i) > p; kept values are scaled by 1/(1-p).
void dropout_forward(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream);
void dropout_backward(const Tensor& dy, Tensor& dx, double p, uint64_t seed, uint64_t stream);

}  // namespace me
