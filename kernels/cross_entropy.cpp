// Cross-entropy entry points: shape/dtype and target range checks, then host loops or CUDA.
#include "kernels/cross_entropy.h"

#include <fmt/format.h>

#include "kernels/cpu/cross_entropy.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/cross_entropy.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {

// logits (N, V); targets (N) i32; every (N) vector in accum_dtype of the logits.
void check_args(const char* op, const Tensor& logits, const Tensor& targets, const Tensor& lse) {
  check_float(op, "logits", logits);
  ME_CHECK(logits.ndim() == 2 && logits.dim(1) > 0, "{}: logits is {}, expected (N, V > 0)", op,
           logits.describe());
  check_dtype(op, "targets", targets, DType::kI32);
  check_shape(op, "targets", targets, {logits.dim(0)});
  check_dtype(op, "lse", lse, accum_dtype(logits.dtype()));
  check_shape(op, "lse", lse, {logits.dim(0)});
}

// Targets come from user data (labels built for another vocabulary); host tensor.
void check_targets_in_range(const char* op, const Tensor& targets, int64_t vocab) {
  const int32_t* p = targets.data<int32_t>();
  for (int64_t i = 0; i < targets.numel(); ++i) {
    if ((p[i] < 0 && p[i] != kTargetOnAnotherShard) || p[i] >= vocab) {
      throw Error(fmt::format("{}: target {} at row {} is outside the vocabulary [0, {})", op, p[i],
                              i, vocab));
    }
  }
}

}  // namespace

void cross_entropy_forward(const Tensor& logits, const Tensor& targets, Tensor& losses,
                           Tensor& lse) {
  constexpr const char* op = "cross_entropy_forward";
  check_args(op, logits, targets, lse);
  check_like(op, "losses", losses, lse);
  if (!on_cpu(op, logits, targets, losses, lse)) {
    check_targets_in_range(op, targets.to(Device::cpu()), logits.dim(1));
    ME_CUDA_OP(op, cuda::cross_entropy_forward(logits, targets, losses, lse));
    return;
  }
  check_targets_in_range(op, targets, logits.dim(1));
  cpu::cross_entropy_forward(logits, targets, losses, lse);
}

void cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                            const Tensor& dlosses, Tensor& dlogits) {
  constexpr const char* op = "cross_entropy_backward";
  check_args(op, logits, targets, lse);
  check_like(op, "dlosses", dlosses, lse);
  check_like(op, "dlogits", dlogits, logits);
  if (!on_cpu(op, logits, targets, lse, dlosses, dlogits)) {
    check_targets_in_range(op, targets.to(Device::cpu()), logits.dim(1));
    ME_CUDA_OP(op, cuda::cross_entropy_backward(logits, targets, lse, dlosses, dlogits));
    return;
  }
  check_targets_in_range(op, targets, logits.dim(1));
  cpu::cross_entropy_backward(logits, targets, lse, dlosses, dlogits);
}

}  // namespace me
