// The partial gradients travel in one buffer of their dtype on their device: one all-reduce per
// step. q/k layernorm weights are found by name, as Megatron finds them.
#include "engine/parallel/tensor_parallel_grads.h"

namespace me {

bool partial_over_tensor_parallel(const Parameter& param, const TensorParallel& tp) {
  if (tp.size == 1 || param.partition.sharded()) return false;
  if (tp.sequence_split()) return true;
  return param.name.find(".q_layernorm.") != std::string::npos ||
         param.name.find(".k_layernorm.") != std::string::npos;
}

void all_reduce_tensor_parallel_grads(const std::vector<Parameter*>& params,
                                      const TensorParallel& tp) {
  std::vector<Parameter*> partial;
  int64_t total = 0;
  for (Parameter* p : params) {
    if (!partial_over_tensor_parallel(*p, tp)) continue;
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
