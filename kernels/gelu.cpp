// GeLU entry points: shape/dtype checks, then the host loops or the CUDA kernels.
#include "kernels/gelu.h"

#include "kernels/cpu/gelu.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/gelu.h"
#endif
#include "kernels/op_checks.h"

namespace me {

void gelu_forward(const Tensor& x, Tensor& y) {
  check_float("gelu_forward", "x", x);
  check_like("gelu_forward", "y", y, x);
  if (!on_cpu("gelu_forward", x, y)) {
    ME_CUDA_OP("gelu_forward", cuda::gelu_forward(x, y));
    return;
  }
  cpu::gelu_forward(x, y);
}

void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  check_float("gelu_backward", "x", x);
  check_like("gelu_backward", "dy", dy, x);
  check_like("gelu_backward", "dx", dx, x);
  if (!on_cpu("gelu_backward", x, dy, dx)) {
    ME_CUDA_OP("gelu_backward", cuda::gelu_backward(x, dy, dx));
    return;
  }
  cpu::gelu_backward(x, dy, dx);
}

}  // namespace me
