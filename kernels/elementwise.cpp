// Element-wise op entry points: shape/dtype checks, then the host loops or the CUDA kernels.
#include "kernels/elementwise.h"

#include "kernels/cpu/elementwise.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/elementwise.h"
#endif
#include "kernels/op_checks.h"

namespace me {

void add_bias(Tensor& y, const Tensor& bias) {
  check_float("add_bias", "y", y);
  check_dtype("add_bias", "bias", bias, y.dtype());
  check_shape("add_bias", "bias", bias, {y.dim(-1)});
  if (!on_cpu("add_bias", y, bias)) {
    ME_CUDA_OP("add_bias", cuda::add_bias(y, bias));
    return;
  }
  cpu::add_bias(y, bias);
}

void bias_backward(const Tensor& dy, Tensor& dbias) {
  check_float("bias_backward", "dy", dy);
  check_dtype("bias_backward", "dbias", dbias, accum_dtype(dy.dtype()));
  check_shape("bias_backward", "dbias", dbias, {dy.dim(-1)});
  if (!on_cpu("bias_backward", dy, dbias)) {
    ME_CUDA_OP("bias_backward", cuda::bias_backward(dy, dbias));
    return;
  }
  cpu::bias_backward(dy, dbias);
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  check_float("add", "a", a);
  check_dtype("add", "b", b, a.dtype());
  check_dtype("add", "out", out, a.dtype());
  check_shape("add", "b", b, a.shape());
  check_shape("add", "out", out, a.shape());
  if (!on_cpu("add", a, b, out)) {
    ME_CUDA_OP("add", cuda::add(a, b, out));
    return;
  }
  cpu::add(a, b, out);
}

void add_into(Tensor& out, const Tensor& a) {
  check_float("add_into", "out", out);
  check_dtype("add_into", "a", a, out.dtype());
  check_shape("add_into", "a", a, out.shape());
  if (!on_cpu("add_into", out, a)) {
    ME_CUDA_OP("add_into", cuda::add_into(out, a));
    return;
  }
  cpu::add_into(out, a);
}

void scale(Tensor& x, double alpha) {
  check_float("scale", "x", x);
  if (!on_cpu("scale", x)) {
    ME_CUDA_OP("scale", cuda::scale(x, alpha));
    return;
  }
  cpu::scale(x, alpha);
}

void fill(Tensor& x, double value) {
  check_float("fill", "x", x);
  if (!on_cpu("fill", x)) {
    ME_CUDA_OP("fill", cuda::fill(x, value));
    return;
  }
  cpu::fill(x, value);
}

void cast_into(const Tensor& src, Tensor& dst) {
  check_float("cast_into", "src", src);
  check_float("cast_into", "dst", dst);
  check_shape("cast_into", "dst", dst, src.shape());
  if (!on_cpu("cast_into", src, dst)) {
    ME_CUDA_OP("cast_into", cuda::cast(src, dst));
    return;
  }
  dst.copy_from(src.cast(dst.dtype()));
}

double sum_of_squares(const Tensor& x) {
  check_float("sum_of_squares", "x", x);
#ifdef ME_WITH_CUDA
  if (!on_cpu("sum_of_squares", x)) return cuda::sum_of_squares(x);
#endif
  return cpu::sum_of_squares(x);
}

bool all_finite(const Tensor& x) {
  check_float("all_finite", "x", x);
#ifdef ME_WITH_CUDA
  if (!on_cpu("all_finite", x)) return cuda::all_finite(x);
#endif
  return cpu::all_finite(x);
}

}  // namespace me
