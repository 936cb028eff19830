// Tensor parallelism as modules see it (Megatron's tensor-model-parallel group): this rank's place
// in the group, the collectives that join partial results, the shard sizes, and whether the
// hidden states between the tensor-parallel blocks are split too (sequence parallelism). Size 1
// (the default) makes every path the unsharded one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/nn/parameter.h"
#include "engine/parallel/tensor_collectives.h"

namespace me {

struct TensorParallel {
  int64_t rank = 0;
  int64_t size = 1;
  Communicator* comm = nullptr;  // the tensor-parallel group; unused at size 1
  // NCCL over the same ranks when activations live on CUDA and each rank has its own GPU; null
  // otherwise (CUDA activations then pass through host memory).
  Communicator* device_comm = nullptr;
  // Megatron's sequence_parallel: outside the tensor-parallel blocks (norms, dropout, residual
  // adds) this rank holds rows [rank n, (rank + 1) n) of the B * T token rows in batch-major order,
  // n = B T / size, shaped (B, T / size, C); docs/architecture.md says why this split.
  bool sequence_parallel = false;

  // Whether hidden states outside the tensor-parallel blocks are split: sequence_parallel at
  // size > 1.
  bool sequence_split() const { return sequence_parallel && size > 1; }

  // In place: x becomes the sum of every rank's x (identity at size 1), through the transport
  // engine/parallel/tensor_collectives.h picks.
  void all_reduce(Tensor& x) const;
  // Megatron's gather along the first dimension: (n, ...) -> (size n, ...), every rank's x in rank
  // order (x itself at size 1).
  Tensor all_gather(const Tensor& x) const;
  // Megatron's reduce-scatter along the first dimension: (size n, ...) -> (n, ...), this rank's
  // rows of the sum over ranks, as a compact tensor (x itself at size 1). x is scratch: its
  // contents are overwritten.
  Tensor reduce_scatter(const Tensor& x) const;
  // The group's communicators (none at size 1).
  GroupCommunicators group() const;
  // n / size; an me::Error naming `field` when it does not divide.
  int64_t divide(int64_t n, const std::string& field) const;
  // How a parameter a module declares under this group relates across it
  // (Parameter::tensor_parallel), set where the module declares it:
  // this rank's shard along `dim` of the fused `blocks` (full lengths; empty: one block), or
  // replicated at size 1;
  void set_sharded(Parameter& param, int dim, std::vector<int64_t> blocks = {}) const;
  // whole on every rank and applied to every token row outside the tensor-parallel blocks (norms,
  // row-parallel biases, learned positions): partial under sequence parallelism, which leaves this
  // rank only its rows, replicated otherwise;
  void set_outside_blocks(Parameter& param) const;
  // whole on every rank and applied to this rank's attention heads only (q/k norms): partial at
  // size > 1.
  void set_per_rank_heads(Parameter& param) const;

  // The group the modules constructed on this thread take: the innermost TensorParallelScope's,
  // else size 1. Models are built through registries keyed by (name, recipe), so the group
  // reaches every module constructor this way rather than through each registry's signature.
  static const TensorParallel& current();
};

// Sets TensorParallel::current() for its lifetime (model construction).
class TensorParallelScope {
 public:
  explicit TensorParallelScope(const TensorParallel& tp);
  ~TensorParallelScope();
  TensorParallelScope(const TensorParallelScope&) = delete;
  TensorParallelScope& operator=(const TensorParallelScope&) = delete;

 private:
  const TensorParallel* previous_;
};

}  // namespace me
