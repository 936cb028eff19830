// Rotary embedding: frequencies once, rotation per call.
#include "engine/nn/rotary_embedding.h"

#include "engine/nn/embedding.h"

namespace me {

RotaryEmbedding::RotaryEmbedding(const RotaryConfig& config)
    : inv_freq_(rope_inverse_frequencies(config.dim, config.base, config.scaling)),
      interleaved_(config.interleaved) {
  ME_CHECK(config.dim >= 2 && config.dim % 2 == 0, "RoPE over {} channels", config.dim);
}

const Tensor& RotaryEmbedding::frequencies(DType dtype, Device device) const {
  if (!frequencies_.defined() || frequencies_.dtype() != dtype || frequencies_.device() != device) {
    const Tensor f64 = Tensor::from_vector(inv_freq_, {static_cast<int64_t>(inv_freq_.size())});
    frequencies_ = f64.cast(dtype).to(device);
  }
  return frequencies_;
}

void RotaryEmbedding::forward(Tensor& x, const Tensor& position_ids) const {
  rope_forward(x, as_int32(position_ids), frequencies(accum_dtype(x.dtype()), x.device()),
               interleaved_, x);
}

void RotaryEmbedding::backward(Tensor& dx, const Tensor& position_ids) const {
  rope_backward(dx, as_int32(position_ids), frequencies(accum_dtype(dx.dtype()), dx.device()),
                interleaved_, dx);
}

}  // namespace me
