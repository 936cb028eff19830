// RMSNorm entry points: shape/dtype checks, then the host loops or the CUDA kernels.
#include "kernels/rmsnorm.h"

#include "kernels/cpu/rmsnorm.h"
#include "kernels/elementwise.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/rmsnorm.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {

// x (N, C), weight (C), rstd (N), one float dtype.
void check_common(const char* op, const Tensor& x, const Tensor& weight, const Tensor& rstd) {
  check_float(op, "x", x);
  ME_CHECK(x.ndim() >= 1, "{}: x is {}", op, x.describe());
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  check_dtype(op, "weight", weight, x.dtype());
  check_shape(op, "weight", weight, {c});
  check_dtype(op, "rstd", rstd, accum_dtype(x.dtype()));
  check_shape(op, "rstd", rstd, {n});
}

}  // namespace

void rmsnorm_forward(const Tensor& x, const Tensor& weight, double eps, Tensor& y, Tensor& rstd) {
  constexpr const char* op = "rmsnorm_forward";
  check_common(op, x, weight, rstd);
  check_like(op, "y", y, x);
  if (!on_cpu(op, x, weight, y, rstd)) {
    Tensor unused;
    ME_CUDA_OP(op, cuda::rmsnorm_forward(x, Tensor(), weight, eps, unused, y, rstd));
    return;
  }
  cpu::rmsnorm_forward(x, weight, eps, y, rstd);
}

void add_rmsnorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps,
                         Tensor& added, Tensor& y, Tensor& rstd) {
  constexpr const char* op = "add_rmsnorm_forward";
  check_common(op, x, weight, rstd);
  check_like(op, "residual", residual, x);
  check_like(op, "added", added, x);
  check_like(op, "y", y, x);
  if (!on_cpu(op, x, residual, weight, added, y, rstd)) {
    ME_CUDA_OP(op, cuda::rmsnorm_forward(x, residual, weight, eps, added, y, rstd));
    return;
  }
  add(x, residual, added);
  cpu::rmsnorm_forward(added, weight, eps, y, rstd);
}

void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                      Tensor& dx, Tensor& dweight, const Tensor& residual_grad) {
  constexpr const char* op = "rmsnorm_backward";
  check_common(op, x, weight, rstd);
  check_like(op, "dy", dy, x);
  check_like(op, "dx", dx, x);
  check_accum_like(op, "dweight", dweight, weight);
  if (residual_grad.defined()) check_like(op, "residual_grad", residual_grad, x);
  if (!on_cpu(op, dy, x, weight, rstd, dx, dweight, residual_grad)) {
    ME_CUDA_OP(op, cuda::rmsnorm_backward(dy, x, weight, rstd, residual_grad, dx, dweight));
    return;
  }
  cpu::rmsnorm_backward(dy, x, weight, rstd, dx, dweight);
  if (residual_grad.defined()) add_into(dx, residual_grad);
}

}  // namespace me
