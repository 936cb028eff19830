// Host AdamW and SGD, element-wise in the order torch.optim's single-tensor path computes them:
// AdamW: p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//        p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps).
#include "kernels/cpu/optimizer_update.h"

#include <cmath>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {

void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamWStep& step) {
  const int64_t n = param.numel();
  const double t = static_cast<double>(step.step);
  const double bias_correction1 = 1.0 - std::pow(step.beta1, t);
  const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(step.beta2, t));
  dispatch_float(param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T decay = static_cast<T>(1.0 - step.lr * step.weight_decay);
    const T b1 = static_cast<T>(step.beta1), b2 = static_cast<T>(step.beta2);
    // 1 - beta in double, as torch passes it: float(1 - 0.999) is 0.001 to 1 ulp, 1 - float(0.999)
    // is off by 1.3e-5 relative.
    const T one_minus_b1 = static_cast<T>(1.0 - step.beta1);
    const T one_minus_b2 = static_cast<T>(1.0 - step.beta2);
    const T step_size = static_cast<T>(step.lr / bias_correction1);
    const T bc2_sqrt = static_cast<T>(bias_correction2_sqrt);
    const T eps = static_cast<T>(step.eps);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) {
      p[i] *= decay;
      m[i] = b1 * m[i] + one_minus_b1 * g[i];
      v[i] = b2 * v[i] + one_minus_b2 * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
    }
  });
}

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr,
                double momentum, double weight_decay, bool first_step) {
  const int64_t n = param.numel();
  dispatch_float(param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T lr_t = static_cast<T>(lr), mom = static_cast<T>(momentum);
    const T wd = static_cast<T>(weight_decay);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* buf = momentum == 0.0 ? nullptr : momentum_buffer.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) {
      T d = g[i] + wd * p[i];
      if (buf) {
        buf[i] = first_step ? d : mom * buf[i] + d;
        d = buf[i];
      }
      p[i] -= lr_t * d;
    }
  });
}

}  // namespace me::cpu
