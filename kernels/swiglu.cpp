// SwiGLU entry points: shape/dtype checks, then the host loops or the CUDA kernels.
#include "kernels/swiglu.h"

#include "kernels/cpu/swiglu.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/swiglu.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {

// x (..., 2F) against out (..., F), one float dtype.
void check_pair(const char* op, const Tensor& x, const Tensor& out) {
  check_float(op, "x", x);
  ME_CHECK(x.ndim() >= 1 && x.dim(-1) % 2 == 0, "{}: x is {}, expected (N, 2F)", op, x.describe());
  Shape half = x.shape();
  half.back() /= 2;
  check_dtype(op, "out", out, x.dtype());
  check_shape(op, "out", out, half);
}

}  // namespace

void swiglu_forward(const Tensor& x, Tensor& out) {
  constexpr const char* op = "swiglu_forward";
  check_pair(op, x, out);
  if (!on_cpu(op, x, out)) {
    ME_CUDA_OP(op, cuda::swiglu_forward(x, out));
    return;
  }
  cpu::swiglu_forward(x, out);
}

void swiglu_backward(const Tensor& x, const Tensor& dout, Tensor& dx) {
  constexpr const char* op = "swiglu_backward";
  check_pair(op, x, dout);
  check_like(op, "dx", dx, x);
  if (!on_cpu(op, x, dout, dx)) {
    ME_CUDA_OP(op, cuda::swiglu_backward(x, dout, dx));
    return;
  }
  cpu::swiglu_backward(x, dout, dx);
}

}  // namespace me
