// Embedding entry points: shape/dtype and id range checks, then the host loops or CUDA kernels.
#include "kernels/embedding.h"

#include <fmt/format.h>

#include "kernels/cpu/embedding.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/embedding.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {

// ids (N) i32, table (V, C), rows (N, C); the table is in rows' dtype, or their accum_dtype when it
// is a gradient table (embedding_backward).
void check_args(const char* op, const Tensor& ids, const Tensor& table, const Tensor& rows) {
  check_dtype(op, "ids", ids, DType::kI32);
  ME_CHECK(ids.ndim() == 1, "{}: ids is {}, expected (N)", op, ids.describe());
  check_float(op, "rows", rows);
  ME_CHECK(table.ndim() == 2, "{}: table is {}, expected (V, C)", op, table.describe());
  if (table.dtype() != rows.dtype()) check_dtype(op, "table", table, accum_dtype(rows.dtype()));
  check_shape(op, "rows", rows, {ids.dim(0), table.dim(1)});
}

// Token ids come from user data (a tokenizer or a dataset built for another vocabulary); host
// tensor.
void check_ids_in_range(const char* op, const Tensor& ids, int64_t vocab) {
  const int32_t* p = ids.data<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if ((p[i] < 0 && p[i] != kIdOnAnotherShard) || p[i] >= vocab) {
      throw Error(fmt::format("{}: token id {} at position {} is outside the vocabulary [0, {})",
                              op, p[i], i, vocab));
    }
  }
}

}  // namespace

void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out) {
  constexpr const char* op = "embedding_forward";
  check_args(op, ids, table, out);
  if (!on_cpu(op, ids, table, out)) {
    check_ids_in_range(op, ids.to(Device::cpu()), table.dim(0));
    ME_CUDA_OP(op, cuda::embedding_forward(ids, table, out));
    return;
  }
  check_ids_in_range(op, ids, table.dim(0));
  cpu::embedding_forward(ids, table, out);
}

void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) {
  constexpr const char* op = "embedding_backward";
  check_args(op, ids, dtable, dout);
  if (!on_cpu(op, ids, dout, dtable)) {
    // The CUDA scatter-add groups tokens by id on the host, so the copy serves both.
    const Tensor host_ids = ids.to(Device::cpu());
    check_ids_in_range(op, host_ids, dtable.dim(0));
    ME_CUDA_OP(op, cuda::embedding_backward(host_ids, dout, dtable));
    return;
  }
  check_ids_in_range(op, ids, dtable.dim(0));
  cpu::embedding_backward(ids, dout, dtable);
}

}  // namespace me
