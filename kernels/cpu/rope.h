// Host RoPE loops: the CPU side of kernels/rope.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cpu {

// Arguments already checked by the me:: entry points. Rotates every channel pair of x by
// direction * position * inv_freq_j (direction +1 forward, -1 backward) into y (may be x).
void rope_rotate(const Tensor& x, const Tensor& position_ids, const Tensor& inv_freq,
                 bool interleaved, double direction, Tensor& y);

}  // namespace me::cpu
