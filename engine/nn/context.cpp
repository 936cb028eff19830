// The memory stream's gradient: the first cross-attention layer's share becomes the sum, later
// ones add into it.
#include "engine/nn/context.h"

#include "kernels/elementwise.h"

namespace me {

void MicroBatchContext::add_memory_grad(const Tensor& grad) {
  Tensor& sum = shared_->memory_grad;
  if (sum.defined()) {
    add_into(sum, grad);
  } else {
    sum = grad.clone();
  }
}

}  // namespace me
