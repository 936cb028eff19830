// Tensor collectives: NCCL in place on CUDA tensors, MPI on host f32/f64, a host f64 copy
// otherwise. The f64 path gathers and reduce-scatters through an all-reduce of a zero-filled full
// buffer (size times the traffic), since the host communicator's reduce_scatter_sum and
// all_gather take floats only.
#include "engine/parallel/tensor_collectives.h"

#include "engine/core/error.h"

namespace me {
namespace {

bool on_device_comm(const Tensor& x, const GroupCommunicators& group) {
  return group.device && x.device().is_cuda();
}

bool on_host_comm(const Tensor& x) {
  return x.device().is_cpu() && (x.dtype() == DType::kF32 || x.dtype() == DType::kF64);
}

// x's shape with the first dimension times `factor` (or divided by `divisor`).
Shape first_dim_scaled(const Shape& shape, int64_t factor, int64_t divisor) {
  ME_CHECK(!shape.empty() && shape[0] * factor % divisor == 0,
           "first dimension of {} does not scale by {} / {}", shape_str(shape), factor, divisor);
  Shape out = shape;
  out[0] = out[0] * factor / divisor;
  return out;
}

}  // namespace

void all_reduce_sum(Tensor& x, const GroupCommunicators& group) {
  if (group.size() == 1) return;
  if (on_device_comm(x, group)) {
    group.device->all_reduce_sum(x.raw_data(), x.numel(), x.dtype());
  } else if (on_host_comm(x)) {
    group.host->all_reduce_sum(x.raw_data(), x.numel(), x.dtype());
  } else {
    Tensor h = x.to(Device::cpu()).cast(DType::kF64);
    group.host->all_reduce_sum(h.data<double>(), h.numel());
    x.copy_from(h.cast(x.dtype()).to(x.device()));
  }
}

Tensor all_gather_rows(const Tensor& x, const GroupCommunicators& group) {
  const int64_t size = group.size();
  if (size == 1) return x;
  const Shape full = first_dim_scaled(x.shape(), size, 1);
  const int64_t own = group.rank() * x.numel();
  const bool device = on_device_comm(x, group);
  if (device || (x.device().is_cpu() && x.dtype() == DType::kF32)) {
    Tensor out = Tensor::empty(full, x.dtype(), x.device());
    out.view(own, x.shape()).copy_from(x);
    (device ? group.device : group.host)->all_gather(out.raw_data(), out.numel(), x.dtype());
    return out;
  }
  Tensor out = Tensor::zeros(full, DType::kF64);
  out.view(own, x.shape()).copy_from(x.to(Device::cpu()).cast(DType::kF64));
  group.host->all_reduce_sum(out.data<double>(), out.numel());
  return x.dtype() == DType::kF64 && x.device().is_cpu() ? out : out.cast(x.dtype()).to(x.device());
}

Tensor reduce_scatter_rows(const Tensor& x, const GroupCommunicators& group) {
  const int64_t size = group.size();
  if (size == 1) return x;
  const Shape local = first_dim_scaled(x.shape(), 1, size);
  const int64_t own = group.rank() * (x.numel() / size);
  const bool device = on_device_comm(x, group);
  if (device || (x.device().is_cpu() && x.dtype() == DType::kF32)) {
    (device ? group.device : group.host)->reduce_scatter_sum(x.raw_data(), x.numel(), x.dtype());
    return x.view(own, local).clone();
  }
  Tensor h =
      x.device().is_cpu() && x.dtype() == DType::kF64 ? x : x.to(Device::cpu()).cast(DType::kF64);
  group.host->all_reduce_sum(h.data<double>(), h.numel());
  const Tensor mine = h.view(own, local);
  return x.dtype() == DType::kF64 && x.device().is_cpu() ? mine.clone()
                                                         : mine.cast(x.dtype()).to(x.device());
}

}  // namespace me
