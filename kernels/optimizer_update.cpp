// Optimizer update entry points: shape/dtype checks, then the host loops or the CUDA kernels.
#include "kernels/optimizer_update.h"

#include <algorithm>

#include "kernels/cpu/optimizer_update.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/optimizer_update.h"
#endif
#include "kernels/op_checks.h"

namespace me {

void adamw_update_chunks(Tensor& params, const Tensor& grads, Tensor& exp_avg, Tensor& exp_avg_sq,
                         const Tensor& chunks, const AdamWStep& step) {
  constexpr const char* op = "adamw_update_chunks";
  check_dtype(op, "params", params, DType::kF32);
  check_like(op, "grads", grads, params);
  check_dtype(op, "exp_avg", exp_avg, DType::kF32);
  check_like(op, "exp_avg_sq", exp_avg_sq, exp_avg);
  check_dtype(op, "chunks", chunks, DType::kI64);
  ME_CHECK(chunks.ndim() == 2 && chunks.dim(1) == 4, "{}: chunks is {}", op, chunks.describe());
  ME_CHECK(step.step >= 1, "{}: step {} (1-based)", op, step.step);
  if (!on_cpu(op, params, grads, exp_avg, exp_avg_sq, chunks)) {
    ME_CUDA_OP(op, cuda::adamw_update_chunks(params, grads, exp_avg, exp_avg_sq, chunks, step));
    return;
  }
  const int64_t* row = chunks.data<int64_t>();
  for (int64_t c = 0; c < chunks.dim(0); ++c, row += 4) {
    const Shape shape{row[1] - row[0]};
    Tensor p = params.view(row[0], shape);
    Tensor m = exp_avg.view(row[2], shape);
    Tensor v = exp_avg_sq.view(row[2], shape);
    AdamWStep s = step;
    if (row[3] == 0) s.weight_decay = 0.0;
    cpu::adamw_update(p, grads.view(row[0], shape), m, v, s);
  }
}

Tensor adamw_chunk_table(const std::vector<UpdateRange>& ranges, Device device,
                         int64_t chunk_elems) {
  ME_CHECK(chunk_elems > 0, "chunk size {}", chunk_elems);
  std::vector<int64_t> rows;
  for (const UpdateRange& r : ranges) {
    for (int64_t begin = r.begin; begin < r.end; begin += chunk_elems) {
      const int64_t end = std::min(r.end, begin + chunk_elems);
      rows.insert(rows.end(), {begin, end, r.state_begin + (begin - r.begin),
                               r.weight_decay ? int64_t{1} : int64_t{0}});
    }
  }
  const int64_t count = static_cast<int64_t>(rows.size() / 4);
  return Tensor::from_vector(rows, {count, 4}).to(device);
}

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
