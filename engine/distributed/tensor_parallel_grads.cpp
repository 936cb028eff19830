// The partial gradients travel in one buffer of their dtype on their device: one all-reduce per
// step.
#include "engine/distributed/tensor_parallel_grads.h"

namespace me {

void all_reduce_tensor_parallel_grads(const std::vector<Parameter*>& params,
                                      const TensorParallel& tp) {
  if (tp.size == 1) return;
  std::vector<Parameter*> partial;
  int64_t total = 0;
  for (Parameter* p : params) {
    if (p->tensor_parallel != TensorParallelRelation::kPartial) continue;
    partial.push_back(p);
    total += p->numel();
  }
  if (total == 0) return;
  const Tensor& first = partial.front()->grad;
  Tensor sums = Tensor::empty({total}, first.dtype(), first.device());
  int64_t offset = 0;
  for (const Parameter* p : partial) {
    sums.view(offset, p->shape).copy_from(p->grad);
    offset += p->numel();
  }
  tp.all_reduce(sums);
  offset = 0;
  for (Parameter* p : partial) {
    p->grad.copy_from(sums.view(offset, p->shape));
    offset += p->numel();
  }
}

}  // namespace me
