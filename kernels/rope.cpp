// RoPE entry points: the inverse frequencies (host math shared by every backend), shape/dtype
// checks, then the host loops or the CUDA kernels.
#include "kernels/rope.h"

#include <cmath>
#include <numbers>

#include "kernels/cpu/rope.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/rope.h"
#endif
#include "kernels/op_checks.h"

namespace me {

std::vector<double> rope_inverse_frequencies(int64_t rotary_dim, double base,
                                             const std::optional<RopeScaling>& scaling) {
  ME_CHECK(rotary_dim > 0 && rotary_dim % 2 == 0, "rotary dimension {} is not positive and even",
           rotary_dim);
  std::vector<double> inv_freq(static_cast<size_t>(rotary_dim / 2));
  for (size_t j = 0; j < inv_freq.size(); ++j) {
    const double exponent = static_cast<double>(2 * j) / static_cast<double>(rotary_dim);
    inv_freq[j] = 1.0 / std::pow(base, exponent);
  }
  if (!scaling) return inv_freq;
  const RopeScaling& s = *scaling;
  const double low_freq_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const double high_freq_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
  for (double& f : inv_freq) {
    const double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen > low_freq_wavelen) {
      f /= s.factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
      f = (1.0 - smooth) * f / s.factor + smooth * f;
    }
  }
  return inv_freq;
}

namespace {

// x, y (B, T, H, D); position_ids (B, T) i32; inv_freq (R/2) with R <= D.
void check_args(const char* op, const Tensor& x, const Tensor& position_ids, const Tensor& inv_freq,
                const Tensor& y) {
  check_float(op, "x", x);
  ME_CHECK(x.ndim() == 4, "{}: x is {}, expected (B, T, H, D)", op, x.describe());
  check_like(op, "y", y, x);
  check_dtype(op, "position_ids", position_ids, DType::kI32);
  check_shape(op, "position_ids", position_ids, {x.dim(0), x.dim(1)});
  check_dtype(op, "inv_freq", inv_freq, accum_dtype(x.dtype()));
  ME_CHECK(inv_freq.ndim() == 1 && 2 * inv_freq.dim(0) <= x.dim(3),
           "{}: inv_freq {} rotates more than the head dimension of {}", op, inv_freq.describe(),
           x.describe());
}

}  // namespace

void rope_forward(const Tensor& x, const Tensor& position_ids, const Tensor& inv_freq,
                  bool interleaved, Tensor& y) {
  constexpr const char* op = "rope_forward";
  check_args(op, x, position_ids, inv_freq, y);
  if (!on_cpu(op, x, position_ids, inv_freq, y)) {
    ME_CUDA_OP(op, cuda::rope_rotate(x, position_ids, inv_freq, interleaved, 1.0f, y));
    return;
  }
  cpu::rope_rotate(x, position_ids, inv_freq, interleaved, 1.0, y);
}

void rope_backward(const Tensor& dy, const Tensor& position_ids, const Tensor& inv_freq,
                   bool interleaved, Tensor& dx) {
  constexpr const char* op = "rope_backward";
  check_args(op, dy, position_ids, inv_freq, dx);
  if (!on_cpu(op, dy, position_ids, inv_freq, dx)) {
    ME_CUDA_OP(op, cuda::rope_rotate(dy, position_ids, inv_freq, interleaved, -1.0f, dx));
    return;
  }
  cpu::rope_rotate(dy, position_ids, inv_freq, interleaved, -1.0, dx);
}

}  // namespace me
