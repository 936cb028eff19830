// Each rank adds its shards' squares and 1/tp of the replicated squares; the group sum is then
// the full model's sum of squares; with optimizer shards (the rest of the buffer zero) the sum over
// the data-parallel group then adds the shards up.
#include "engine/parallel/tensor_parallel_norm.h"

#include <cmath>

#include "engine/parallel/communicator.h"
#include "kernels/elementwise.h"

namespace me {

double tensor_parallel_grad_norm(const ParamBuffers& buffers, const TensorParallel& tp,
                                 Communicator* shards) {
  double sum = 0.0;
  for (const Parameter* p : buffers.parameters()) {
    const double squares = sum_of_squares(p->grad);
    sum += p->partition.sharded() ? squares : squares / static_cast<double>(tp.size);
  }
  if (tp.size > 1) tp.comm->all_reduce_sum(&sum, 1);
  if (shards) shards->all_reduce_sum(&sum, 1);
  return std::sqrt(sum);
}

}  // namespace me
