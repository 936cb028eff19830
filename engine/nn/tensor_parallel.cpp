// TensorParallel: the tensor collectives over the group's Communicator and the construction scope.
// f64 (the tests' reference precision) gathers and reduce-scatters through an all-reduce of a
// zero-filled full buffer: exact, at size times the traffic, since the Communicator's
// reduce_scatter_sum and all_gather take floats only.
#include "engine/nn/tensor_parallel.h"

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

namespace me {
namespace {
const TensorParallel kSingle{};
thread_local const TensorParallel* current_group = &kSingle;

// x's shape with the first dimension times `factor` (or divided by `divisor`).
Shape first_dim_scaled(const Shape& shape, int64_t factor, int64_t divisor) {
  ME_CHECK(!shape.empty() && shape[0] * factor % divisor == 0,
           "first dimension of {} does not scale by {} / {}", shape_str(shape), factor, divisor);
  Shape out = shape;
  out[0] = out[0] * factor / divisor;
  return out;
}
}  // namespace

void TensorParallel::all_reduce(Tensor& x) const {
  if (size == 1) return;
  ME_CHECK(comm && comm->size() == size, "tensor-parallel group of {} without its communicator",
           size);
  const bool host = x.device().is_cpu();
  if (host && x.dtype() == DType::kF32) {
    comm->all_reduce_sum(x.data<float>(), x.numel());
  } else if (host && x.dtype() == DType::kF64) {
    comm->all_reduce_sum(x.data<double>(), x.numel());
  } else {
    Tensor h = x.to(Device::cpu()).cast(DType::kF64);
    comm->all_reduce_sum(h.data<double>(), h.numel());
    x.copy_from(h.cast(x.dtype()).to(x.device()));
  }
}

Tensor TensorParallel::all_gather(const Tensor& x) const {
  if (size == 1) return x;
  ME_CHECK(comm && comm->size() == size, "tensor-parallel group of {} without its communicator",
           size);
  const Shape full = first_dim_scaled(x.shape(), size, 1);
  if (x.device().is_cpu() && x.dtype() == DType::kF32) {
    Tensor out = Tensor::empty(full, DType::kF32);
    out.view(rank * x.numel(), x.shape()).copy_from(x);
    comm->all_gather(out.data<float>(), out.numel());
    return out;
  }
  Tensor out = Tensor::zeros(full, DType::kF64);
  out.view(rank * x.numel(), x.shape()).copy_from(x.to(Device::cpu()).cast(DType::kF64));
  comm->all_reduce_sum(out.data<double>(), out.numel());
  return x.dtype() == DType::kF64 && x.device().is_cpu() ? out : out.cast(x.dtype()).to(x.device());
}

Tensor TensorParallel::reduce_scatter(const Tensor& x) const {
  if (size == 1) return x;
  ME_CHECK(comm && comm->size() == size, "tensor-parallel group of {} without its communicator",
           size);
  const Shape local = first_dim_scaled(x.shape(), 1, size);
  const int64_t n = x.numel() / size;
  if (x.device().is_cpu() && x.dtype() == DType::kF32) {
    Tensor buffer = x;
    comm->reduce_scatter_sum(buffer.data<float>(), buffer.numel());
    return buffer.view(rank * n, local).clone();
  }
  Tensor h =
      x.device().is_cpu() && x.dtype() == DType::kF64 ? x : x.to(Device::cpu()).cast(DType::kF64);
  comm->all_reduce_sum(h.data<double>(), h.numel());
  const Tensor mine = h.view(rank * n, local);
  return x.dtype() == DType::kF64 && x.device().is_cpu() ? mine.clone()
                                                         : mine.cast(x.dtype()).to(x.device());
}

int64_t TensorParallel::divide(int64_t n, const std::string& field) const {
  if (n % size != 0) {
    throw Error(fmt::format("{} ({}) is not divisible by parallel.tensor_model_parallel_size ({})",
                            field, n, size),
                field);
  }
  return n / size;
}

Partition TensorParallel::partition(int dim, int64_t chunks) const {
  if (size == 1) return {};
  return Partition{dim, rank, size, chunks};
}

const TensorParallel& TensorParallel::current() { return *current_group; }

TensorParallelScope::TensorParallelScope(const TensorParallel& tp) : previous_(current_group) {
  current_group = &tp;
}

TensorParallelScope::~TensorParallelScope() { current_group = previous_; }

}  // namespace me
