// Rotary position embedding for attention (Megatron mcore RotaryEmbedding): the inverse
// frequencies of a RotaryConfig and the rotation of q and k by the micro-batch's position_ids
// (kernels/rope.h). No parameters.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/nn/layer_config.h"
#include "kernels/rope.h"

namespace me {

class RotaryEmbedding {
 public:
  // Rotates config.dim channels of each head (even, as Megatron requires).
  explicit RotaryEmbedding(const RotaryConfig& config);

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
