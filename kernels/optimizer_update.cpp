// Optimizer update entry points: shape/dtype checks, then the host loops or the CUDA kernels.
#include "kernels/optimizer_update.h"

#include "kernels/cpu/optimizer_update.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/optimizer_update.h"
#endif
#include "kernels/op_checks.h"

namespace me {

void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamWStep& step) {
  constexpr const char* op = "adamw_update";
  check_float(op, "param", param);
  check_like(op, "grad", grad, param);
  check_like(op, "exp_avg", exp_avg, param);
  check_like(op, "exp_avg_sq", exp_avg_sq, param);
  ME_CHECK(step.step >= 1, "adamw_update: step {} (1-based)", step.step);
  if (!on_cpu(op, param, grad, exp_avg, exp_avg_sq)) {
    ME_CUDA_OP("adamw_update", cuda::adamw_update(param, grad, exp_avg, exp_avg_sq, step));
    return;
  }
  cpu::adamw_update(param, grad, exp_avg, exp_avg_sq, step);
}

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr,
                double momentum, double weight_decay, bool first_step) {
  constexpr const char* op = "sgd_update";
  check_float(op, "param", param);
  check_like(op, "grad", grad, param);
  if (momentum != 0.0) check_like(op, "momentum_buffer", momentum_buffer, param);
  if (!on_cpu(op, param, grad, momentum_buffer)) {
    ME_CUDA_OP("sgd_update", cuda::sgd_update(param, grad, momentum_buffer, lr, momentum,
                                              weight_decay, first_step));
    return;
  }
  cpu::sgd_update(param, grad, momentum_buffer, lr, momentum, weight_decay, first_step);
}

}  // namespace me
