// TensorParallel: the tensor collectives over the group's communicators and the construction
// scope.
#include "engine/nn/tensor_parallel.h"

#include <fmt/format.h>

#include <utility>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/tensor_collectives.h"

namespace me {
namespace {
const TensorParallel kSingle{};
thread_local const TensorParallel* current_group = &kSingle;
}  // namespace

void TensorParallel::all_reduce(Tensor& x) const { all_reduce_sum(x, group()); }

Tensor TensorParallel::all_gather(const Tensor& x) const { return all_gather_rows(x, group()); }

Tensor TensorParallel::reduce_scatter(const Tensor& x) const {
  return reduce_scatter_rows(x, group());
}

GroupCommunicators TensorParallel::group() const {
  if (size == 1) return {};
  ME_CHECK(comm && comm->size() == size, "tensor-parallel group of {} without its communicator",
           size);
  return {comm, device_comm};
}

int64_t TensorParallel::divide(int64_t n, const std::string& field) const {
  if (n % size != 0) {
    throw Error(fmt::format("{} ({}) is not divisible by parallel.tensor_model_parallel_size ({})",
                            field, n, size),
                field);
  }
  return n / size;
}

void TensorParallel::set_sharded(Parameter& param, int dim, std::vector<int64_t> blocks) const {
  if (size == 1) {
    param.partition = {};
    param.tensor_parallel = TensorParallelRelation::kReplicated;
    return;
  }
  param.partition = Partition{dim, rank, size, std::move(blocks)};
  param.full_shape();  // checks the blocks against the shard's shape
  param.tensor_parallel = TensorParallelRelation::kSharded;
}

void TensorParallel::set_outside_blocks(Parameter& param) const {
  param.partition = {};
  param.tensor_parallel =
      sequence_split() ? TensorParallelRelation::kPartial : TensorParallelRelation::kReplicated;
}

void TensorParallel::set_per_rank_heads(Parameter& param) const {
  param.partition = {};
  param.tensor_parallel =
      size > 1 ? TensorParallelRelation::kPartial : TensorParallelRelation::kReplicated;
}

const TensorParallel& TensorParallel::current() { return *current_group; }

TensorParallelScope::TensorParallelScope(const TensorParallel& tp) : previous_(current_group) {
  current_group = &tp;
}

TensorParallelScope::~TensorParallelScope() { current_group = previous_; }

}  // namespace me
