// LayerNorm entry points: shape/dtype checks, then the host loops or the CUDA kernels.
#include "kernels/layernorm.h"

#include "kernels/cpu/layernorm.h"
#include "kernels/elementwise.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/layernorm.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {

// The tensors both passes share: x (N, C), weight (C), mean and rstd (N), one float dtype.
void check_common(const char* op, const Tensor& x, const Tensor& weight, const Tensor& mean,
                  const Tensor& rstd) {
  check_float(op, "x", x);
  ME_CHECK(x.ndim() >= 1, "{}: x is {}", op, x.describe());
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  check_dtype(op, "weight", weight, x.dtype());
  check_shape(op, "weight", weight, {c});
  check_dtype(op, "mean", mean, accum_dtype(x.dtype()));
  check_shape(op, "mean", mean, {n});
  check_dtype(op, "rstd", rstd, accum_dtype(x.dtype()));
  check_shape(op, "rstd", rstd, {n});
}

}  // namespace

void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd) {
  constexpr const char* op = "layernorm_forward";
  check_common(op, x, weight, mean, rstd);
  check_like(op, "bias", bias, weight);
  check_like(op, "y", y, x);
  if (!on_cpu(op, x, weight, bias, y, mean, rstd)) {
    Tensor unused;
    ME_CUDA_OP(op, cuda::layernorm_forward(x, Tensor(), weight, bias, eps, unused, y, mean, rstd));
    return;
  }
  cpu::layernorm_forward(x, weight, bias, eps, y, mean, rstd);
}

void add_layernorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight,
                           const Tensor& bias, double eps, Tensor& added, Tensor& y, Tensor& mean,
                           Tensor& rstd) {
  constexpr const char* op = "add_layernorm_forward";
  check_common(op, x, weight, mean, rstd);
  check_like(op, "residual", residual, x);
  check_like(op, "added", added, x);
  check_like(op, "bias", bias, weight);
  check_like(op, "y", y, x);
  if (!on_cpu(op, x, residual, weight, bias, added, y, mean, rstd)) {
    ME_CUDA_OP(op, cuda::layernorm_forward(x, residual, weight, bias, eps, added, y, mean, rstd));
    return;
  }
  add(x, residual, added);
  cpu::layernorm_forward(added, weight, bias, eps, y, mean, rstd);
}

void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, Tensor& dx, Tensor& dweight, Tensor& dbias,
                        const Tensor& residual_grad) {
  constexpr const char* op = "layernorm_backward";
  check_common(op, x, weight, mean, rstd);
  check_like(op, "dy", dy, x);
  check_like(op, "dx", dx, x);
  check_accum_like(op, "dweight", dweight, weight);
  check_accum_like(op, "dbias", dbias, weight);
  if (residual_grad.defined()) check_like(op, "residual_grad", residual_grad, x);
  if (!on_cpu(op, dy, x, weight, mean, rstd, dx, dweight, dbias, residual_grad)) {
    ME_CUDA_OP("layernorm_backward", cuda::layernorm_backward(dy, x, weight, mean, rstd,
                                                              residual_grad, dx, dweight, dbias));
    return;
  }
  cpu::layernorm_backward(dy, x, weight, mean, rstd, dx, dweight, dbias);
  if (residual_grad.defined()) add_into(dx, residual_grad);
}

}  // namespace me
