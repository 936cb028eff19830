// TensorParallel: the tensor all-reduce over the group's Communicator and the construction scope.
#include "engine/nn/tensor_parallel.h"

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

namespace me {
namespace {
const TensorParallel kSingle{};
thread_local const TensorParallel* current_group = &kSingle;
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
