// Rotary embedding: frequencies from the recipe once, rotation per call.
#include "engine/nn/rotary_embedding.h"

#include <fmt/format.h>

#include "engine/nn/embedding.h"
#include "engine/recipe/recipe.h"

namespace me {

namespace {

int64_t rotary_dim_of(const Recipe& recipe) {
  const int64_t kv = recipe.derived.kv_channels;
  const double percent = recipe.model.rotary_percent;
  const auto dim = percent < 1.0 ? static_cast<int64_t>(static_cast<double>(kv) * percent) : kv;
  if (dim < 2 || dim % 2 != 0) {
    throw Error(fmt::format("rotary_percent {} of kv_channels {} gives {} rotated channels; RoPE "
                            "needs a positive even number",
                            percent, kv, dim),
                "model.rotary_percent");
  }
  return dim;
}

std::optional<RopeScaling> scaling_of(const Recipe& recipe) {
  if (!recipe.model.use_rope_scaling) return std::nullopt;
  RopeScaling s;
  s.factor = recipe.model.rope_scaling_factor;
  s.original_max_position_embeddings =
      static_cast<double>(recipe.model.rope_scaling_original_max_position_embeddings);
  return s;
}

}  // namespace

RotaryEmbedding::RotaryEmbedding(const Recipe& recipe)
    : RotaryEmbedding(rotary_dim_of(recipe), static_cast<double>(recipe.model.rotary_base),
                      recipe.model.rotary_interleaved, scaling_of(recipe)) {}

RotaryEmbedding::RotaryEmbedding(int64_t rotary_dim, double base, bool interleaved,
                                 const std::optional<RopeScaling>& scaling)
    : inv_freq_(rope_inverse_frequencies(rotary_dim, base, scaling)), interleaved_(interleaved) {}

const Tensor& RotaryEmbedding::frequencies(DType dtype, Device device) const {
  if (!frequencies_.defined() || frequencies_.dtype() != dtype || frequencies_.device() != device) {
    const Tensor f64 = Tensor::from_vector(inv_freq_, {static_cast<int64_t>(inv_freq_.size())});
    frequencies_ = f64.cast(dtype).to(device);
  }
  return frequencies_;
}

void RotaryEmbedding::forward(Tensor& x, const Tensor& position_ids) const {
  rope_forward(x, as_int32(position_ids), frequencies(accum_dtype(x.dtype()), x.device()), interleaved_, x);
}

void RotaryEmbedding::backward(Tensor& dx, const Tensor& position_ids) const {
  rope_backward(dx, as_int32(position_ids), frequencies(accum_dtype(dx.dtype()), dx.device()), interleaved_, dx);
}

}  // namespace me
