// Dropout entry points: shape/dtype/probability checks, then the host loops or the CUDA kernels.
#include "kernels/dropout.h"

#include <fmt/format.h>

#include "kernels/cpu/dropout.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/dropout.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {
void check_probability(const char* op, double p) {
  if (!(p >= 0.0 && p < 1.0))
    throw Error(fmt::format("{}: dropout probability {} is not in [0, 1)", op, p));
}
}  // namespace

void dropout_forward(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream,
                     uint64_t first_index) {
  check_float("dropout_forward", "x", x);
  check_like("dropout_forward", "y", y, x);
  check_probability("dropout_forward", p);
  if (!on_cpu("dropout_forward", x, y)) {
    ME_CUDA_OP("dropout_forward", cuda::dropout(x, y, p, seed, stream, first_index));
    return;
  }
  cpu::dropout(x, y, p, seed, stream, first_index);
}

void dropout_backward(const Tensor& dy, Tensor& dx, double p, uint64_t seed, uint64_t stream,
                      uint64_t first_index) {
  check_float("dropout_backward", "dy", dy);
  check_like("dropout_backward", "dx", dx, dy);
  check_probability("dropout_backward", p);
  if (!on_cpu("dropout_backward", dy, dx)) {
    ME_CUDA_OP("dropout_backward", cuda::dropout(dy, dx, p, seed, stream, first_index));
    return;
  }
  cpu::dropout(dy, dx, p, seed, stream, first_index);
}

}  // namespace me
