// Linear entry points: checks, then cuBLASLt on CUDA or the unfused ops (the CPU reference, and
// the CUDA fallback when cuBLASLt has no epilogue algorithm for the shape).
#include "kernels/linear.h"

#include "kernels/elementwise.h"
#include "kernels/gelu.h"
#include "kernels/matmul.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/linear.h"
#endif
#include "kernels/op_checks.h"

namespace me {
namespace {

void check_forward(const char* op, const Tensor& x, const Tensor& w, const Tensor& bias,
                   const Tensor& y) {
  check_float(op, "x", x);
  check_dtype(op, "w", w, x.dtype());
  ME_CHECK(x.ndim() == 2 && w.ndim() == 2 && w.dim(1) == x.dim(1), "{}: x {} and w {}", op,
           x.describe(), w.describe());
  if (bias.defined()) {
    check_dtype(op, "bias", bias, x.dtype());
    check_shape(op, "bias", bias, {w.dim(0)});
  }
  check_dtype(op, "y", y, x.dtype());
  check_shape(op, "y", y, {x.dim(0), w.dim(0)});
}

void unfused_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  matmul(x, false, w, true, y);
  if (bias.defined()) add_bias(y, bias);
}

}  // namespace

void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  constexpr const char* op = "linear_forward";
  check_forward(op, x, w, bias, y);
  if (!on_cpu(op, x, w, bias, y)) {
    bool fused = false;
    ME_CUDA_OP(op, fused = cuda::linear_forward(x, w, bias, y));
    if (fused) return;
  }
  unfused_forward(x, w, bias, y);
}

void linear_gelu_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& pre,
                         Tensor& y) {
  constexpr const char* op = "linear_gelu_forward";
  check_forward(op, x, w, bias, y);
  check_like(op, "pre", pre, y);
  if (!on_cpu(op, x, w, bias, pre, y)) {
    bool fused = false;
    ME_CUDA_OP(op, fused = cuda::linear_gelu_forward(x, w, bias, pre, y));
    if (fused) return;
  }
  unfused_forward(x, w, bias, pre);
  gelu_forward(pre, y);
}

void linear_gelu_backward_input(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dx) {
  constexpr const char* op = "linear_gelu_backward_input";
  check_float(op, "dy", dy);
  check_dtype(op, "w", w, dy.dtype());
  ME_CHECK(dy.ndim() == 2 && w.ndim() == 2 && w.dim(0) == dy.dim(1), "{}: dy {} and w {}", op,
           dy.describe(), w.describe());
  check_dtype(op, "pre", pre, dy.dtype());
  check_shape(op, "pre", pre, {dy.dim(0), w.dim(1)});
  check_like(op, "dx", dx, pre);
  if (!on_cpu(op, dy, w, pre, dx)) {
    bool fused = false;
    ME_CUDA_OP(op, fused = cuda::linear_gelu_backward_input(dy, w, pre, dx));
    if (fused) return;
  }
  Tensor dgelu = Tensor::empty(dx.shape(), dx.dtype(), dx.device());
  matmul(dy, false, w, false, dgelu);
  gelu_backward(pre, dgelu, dx);
}

void linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& dbias) {
  constexpr const char* op = "linear_backward_weight";
  check_float(op, "dy", dy);
  check_dtype(op, "x", x, dy.dtype());
  ME_CHECK(dy.ndim() == 2 && x.ndim() == 2 && x.dim(0) == dy.dim(0), "{}: dy {} and x {}", op,
           dy.describe(), x.describe());
  check_dtype(op, "dw", dw, accum_dtype(dy.dtype()));
  check_shape(op, "dw", dw, {dy.dim(1), x.dim(1)});
  if (dbias.defined()) {
    check_dtype(op, "dbias", dbias, accum_dtype(dy.dtype()));
    check_shape(op, "dbias", dbias, {dy.dim(1)});
  }
  if (!on_cpu(op, dy, x, dw, dbias)) {
    bool fused = false;
    ME_CUDA_OP(op, fused = cuda::linear_backward_weight(dy, x, dw, dbias));
    if (fused) return;
  }
  matmul(dy, true, x, false, dw, 1.0f, 1.0f);
  if (dbias.defined()) bias_backward(dy, dbias);
}

}  // namespace me
