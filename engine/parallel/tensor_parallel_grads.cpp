// The partial gradients travel in one host f64 buffer: one all-reduce per step, whatever the
// gradients' dtype or device. q/k layernorm weights are found by name, as Megatron finds them.
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
  Tensor sums = Tensor::empty({total}, DType::kF64);
  int64_t offset = 0;
  for (const Parameter* p : partial) {
    sums.view(offset, p->shape).copy_from(p->grad.to(Device::cpu()).cast(DType::kF64));
    offset += p->numel();
  }
  tp.all_reduce(sums);
  offset = 0;
  for (Parameter* p : partial) {
    const Tensor part = sums.view(offset, p->shape);
    p->grad.copy_from(part.cast(p->grad.dtype()).to(p->grad.device()));
    offset += p->numel();
  }
}

}  // namespace me
