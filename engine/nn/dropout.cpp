// Dropout layer over kernels/dropout.h; active only when ctx.training() and p > 0.
#include "engine/nn/dropout.h"

#include "kernels/dropout.h"

namespace me {

Dropout::Dropout(const std::string& name, double p) : Layer(name), p_(p) {
  ME_CHECK(p >= 0.0 && p < 1.0, "{}: dropout probability {} outside [0, 1)", name, p);
}

Tensor Dropout::forward(const Tensor& x, MicroBatchContext& ctx) {
  if (!ctx.training() || p_ == 0.0) return x;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dropout_forward(x, y, p_, ctx.seed(), ctx.rng_stream(name()));
  return y;
}

// Backward only runs on a training context, where forward applied the same mask.
Tensor Dropout::backward(const Tensor& dy, MicroBatchContext& ctx) {
  if (p_ == 0.0) return dy;
  Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  dropout_backward(dy, dx, p_, ctx.seed(), ctx.rng_stream(name()));
  return dx;
}

}  // namespace me
