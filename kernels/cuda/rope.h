// CUDA RoPE on (B, T, H, D) activations: the CUDA side of kernels/rope.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by the me:: entry points (position_ids and inv_freq on x's device);
// x f32/bf16/f16, inv_freq f32. Rotates every channel pair of x by direction * position * inv_freq_j (direction +1
// forward, -1 backward) into y (may be x); channels past 2 * inv_freq.numel() are copied.
void rope_rotate(const Tensor& x, const Tensor& position_ids, const Tensor& inv_freq,
                 bool interleaved, float direction, Tensor& y);

}  // namespace me::cuda
