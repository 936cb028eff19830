// Rotary position embedding (RoPE) on q or k in (B, T, H, D) layout, as Megatron's
// apply_rotary_pos_emb and transformers' Llama: the first R = 2 * inv_freq.numel() channels of
// each head are rotated by angle position * inv_freq, the rest pass through.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/core/tensor.h"

namespace me {

// Llama-3.1 frequency scaling (transformers' _compute_llama3_parameters, Megatron's
// apply_rope_scaling): wavelengths above original/low_freq_factor are divided by `factor`, those
// below original/high_freq_factor are kept, and the band between is interpolated smoothly.
struct RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192.0;
};

// inv_freq_j = 1 / base^(2j / rotary_dim) for j < rotary_dim / 2 (rotary_dim even), then scaled.
std::vector<double> rope_inverse_frequencies(int64_t rotary_dim, double base,
                                             const std::optional<RopeScaling>& scaling);

// x, y: (B, T, H, D); position_ids: (B, T) i32 (so reset_position_ids restarts the angles);
// inv_freq: (R/2) in x's dtype with R <= D. Non-interleaved (Megatron's default, Llama's
// rotate_half) pairs channel j with j + R/2; interleaved pairs 2j with 2j + 1. Pair (a, b) with
// angle t becomes (a cos t - b sin t, b cos t + a sin t). y may be x (in place).
void rope_forward(const Tensor& x, const Tensor& position_ids, const Tensor& inv_freq,
                  bool interleaved, Tensor& y);
// The transpose of a rotation is the rotation by -angle: dx from dy (dx may be dy).
void rope_backward(const Tensor& dy, const Tensor& position_ids, const Tensor& inv_freq,
                   bool interleaved, Tensor& dx);

}  // namespace me
