// Collectives on whole tensors of any dtype and device over one group of ranks, the one place that
// picks the transport: a device communicator (NCCL) takes CUDA tensors in place; host f32/f64
// tensors go to the host communicator (MPI); anything else (CUDA tensors where ranks share a GPU,
// bf16 on the host) passes through a host f64 copy, exact at the cost of the copies.
#pragma once

#include "engine/core/tensor.h"
#include "engine/parallel/communicator.h"

namespace me {

// One group as tensors see it: the host communicator and, where every rank has its own GPU, a NCCL
// communicator over the same ranks (null otherwise).
struct GroupCommunicators {
  Communicator* host = nullptr;
  Communicator* device = nullptr;

  int64_t size() const { return host ? host->size() : 1; }
  int64_t rank() const { return host ? host->rank() : 0; }
};

// In place: x becomes the sum of every rank's x.
void all_reduce_sum(Tensor& x, const GroupCommunicators& group);
// Along the first dimension: (n, ...) -> (size n, ...), every rank's x in rank order.
Tensor all_gather_rows(const Tensor& x, const GroupCommunicators& group);
// Along the first dimension: (size n, ...) -> (n, ...), this rank's rows of the sum over ranks, a
// compact tensor. x is scratch: its contents are overwritten.
Tensor reduce_scatter_rows(const Tensor& x, const GroupCommunicators& group);

}  // namespace me
