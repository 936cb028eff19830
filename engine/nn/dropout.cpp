// Dropout layer over kernels/dropout.h; active only when ctx.training() and p > 0. Under sequence
// parallelism the kernel runs over a zero-filled tensor of the gathered size with this rank's rows
// in place (its mask is a function of the flat index from 0), and the rows are read back: tp
// times the mask draws of the rank's share, the price of equality with one rank until the kernel
// takes a first index.
#include "engine/nn/dropout.h"

#include "kernels/dropout.h"

namespace me {

Dropout::Dropout(const std::string& name, double p)
    : Layer(name), p_(p), tp_(TensorParallel::current()) {
  ME_CHECK(p >= 0.0 && p < 1.0, "{}: dropout probability {} outside [0, 1)", name, p);
}

Tensor Dropout::apply(const Tensor& x, bool forward, const MicroBatchContext& ctx) const {
  const uint64_t stream = ctx.rng_stream(name());
  if (!tp_.sequence_split()) {
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (forward) {
      dropout_forward(x, y, p_, ctx.seed(), stream);
    } else {
      dropout_backward(x, y, p_, ctx.seed(), stream);
    }
    return y;
  }
  Tensor whole = Tensor::zeros({tp_.size * x.numel()}, x.dtype(), x.device());
  Tensor mine = whole.view(tp_.rank * x.numel(), x.shape());
  mine.copy_from(x);
  if (forward) {
    dropout_forward(whole, whole, p_, ctx.seed(), stream);
  } else {
    dropout_backward(whole, whole, p_, ctx.seed(), stream);
  }
  return mine.clone();
}

Tensor Dropout::forward(const Tensor& x, MicroBatchContext& ctx) {
  if (!ctx.training() || p_ == 0.0) return x;
  return apply(x, true, ctx);
}

// Backward only runs on a training context, where forward applied the same mask.
Tensor Dropout::backward(const Tensor& dy, MicroBatchContext& ctx) {
  if (p_ == 0.0) return dy;
  return apply(dy, false, ctx);
}

}  // namespace me
