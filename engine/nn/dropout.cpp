// Dropout layer over kernels/dropout.h; active only when ctx.training() and p > 0. Under sequence
// parallelism the kernel's first index is this rank's rows' offset in the gathered tensor, so it
// draws only its share of the single-rank mask.
#include "engine/nn/dropout.h"

#include "kernels/dropout.h"

namespace me {

Dropout::Dropout(const std::string& name, double p)
    : Layer(name), p_(p), tp_(TensorParallel::current()) {
  ME_CHECK(p >= 0.0 && p < 1.0, "{}: dropout probability {} outside [0, 1)", name, p);
}

Tensor Dropout::apply(const Tensor& x, bool forward, const MicroBatchContext& ctx) const {
  const uint64_t stream = ctx.rng_stream(name());
  const uint64_t first =
      tp_.sequence_split() ? static_cast<uint64_t>(tp_.rank) * static_cast<uint64_t>(x.numel()) : 0;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (forward) {
    dropout_forward(x, y, p_, ctx.seed(), stream, first);
  } else {
    dropout_backward(x, y, p_, ctx.seed(), stream, first);
  }
  return y;
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

ModuleCost Dropout::cost(const CostQuery& /*query*/) const { return {}; }

}  // namespace me
