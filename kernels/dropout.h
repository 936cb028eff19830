// Inverted dropout with a mask regenerated from Philox (seed, stream, element index), so backward
// needs no stored mask and results do not depend on thread count.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace me {

// Element i (flat index) is kept iff philox_uniform(seed, stream, first_index + i) > float(p),
// compared in float on every device; kept values are scaled by 1/(1-p), dropped ones are 0. p in
// [0, 1) (else me::Error); p == 0 copies. f32/f64; y may alias x. first_index places x inside a
// larger tensor whose mask it shares (a sequence-parallel rank's token rows start at rank * numel):
// the call draws only x's own numbers, the values the whole tensor's call draws there.
void dropout_forward(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream,
                     uint64_t first_index = 0);
void dropout_backward(const Tensor& dy, Tensor& dx, double p, uint64_t seed, uint64_t stream,
                      uint64_t first_index = 0);

}  // namespace me
