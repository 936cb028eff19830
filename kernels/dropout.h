// Inverted dropout with a mask regenerated from Philox (seed, stream, element index), so backward
// needs no stored mask and results do not depend on thread count.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace me {

// Element i (flat index) is kept iff philox_uniform(seed, stream, i) > float(p), compared in float
// on every device; kept values are scaled by 1/(1-p), dropped ones are 0. p in [0, 1) (else
// me::Error); p == 0 copies. f32/f64; y may alias x.
void dropout_forward(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream);
void dropout_backward(const Tensor& dy, Tensor& dx, double p, uint64_t seed, uint64_t stream);

}  // namespace me
