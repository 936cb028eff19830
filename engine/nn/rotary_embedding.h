// Rotary position embedding for attention (Megatron mcore RotaryEmbedding): the inverse
// frequencies of model.{rotary_base, rotary_percent, use_rope_scaling, rope_scaling_factor} and
// the rotation of q and k by the micro-batch's position_ids (kernels/rope.h). No parameters.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/core/tensor.h"
#include "kernels/rope.h"

namespace me {

struct Recipe;

class RotaryEmbedding {
 public:
  // Rotates rotary_dim = int(kv_channels * rotary_percent) channels (even, as Megatron requires).
  explicit RotaryEmbedding(const Recipe& recipe);
  RotaryEmbedding(int64_t rotary_dim, double base, bool interleaved,
                  const std::optional<RopeScaling>& scaling);

  // In place on x (B, T, H, D); position_ids (B, T) integer.
  void forward(Tensor& x, const Tensor& position_ids) const;
  // In place on dx: the inverse rotation.
  void backward(Tensor& dx, const Tensor& position_ids) const;

  int64_t rotary_dim() const { return 2 * static_cast<int64_t>(inv_freq_.size()); }

 private:
  // (rotary_dim / 2) in the input's dtype on its device; converted and copied once, then reused,
  // so the per-layer calls do no host-to-device copy.
  const Tensor& frequencies(DType dtype, Device device) const;

  std::vector<double> inv_freq_;
  bool interleaved_;
  mutable Tensor frequencies_;
};

}  // namespace me
