// The dropout keep rule shared by the host loops and the CUDA kernels (plain dropout and the
// attention-probability dropout), so both devices drop exactly the same elements.
#pragma once

#include <cstdint>

#include "engine/core/philox.h"

namespace me {

// Element `index` is kept iff its Philox uniform exceeds p, compared in float: the CPU reference
// and a CUDA kernel agree for every p.
ME_HOST_DEVICE inline bool dropout_keep(uint64_t seed, uint64_t stream, uint64_t index, float p) {
  return philox_uniform(seed, stream, index) > p;
}

}  // namespace me
