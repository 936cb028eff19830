// GeLU entry points: shape/dtype checks, then the host loops.
#include "kernels/gelu.h"

#include "kernels/cpu/gelu.h"
#include "kernels/op_checks.h"

namespace me {

void gelu_forward(const Tensor& x, Tensor& y) {
  check_float("gelu_forward", "x", x);
  check_like("gelu_forward", "y", y, x);
  if (!on_cpu("gelu_forward", x, y)) throw Error("gelu_forward: no CUDA implementation yet");
  cpu::gelu_forward(x, y);
}

void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  check_float("gelu_backward", "x", x);
  check_like("gelu_backward", "dy", dy, x);
  check_like("gelu_backward", "dx", dx, x);
  if (!on_cpu("gelu_backward", x, dy, dx)) throw Error("gelu_backward: no CUDA implementation yet");
  cpu::gelu_backward(x, dy, dx);
}

}  // namespace me
