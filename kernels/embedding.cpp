// Embedding entry points: shape/dtype checks and the id range check, then the host loops.
#include "kernels/embedding.h"

#include <fmt/format.h>

#include "kernels/cpu/embedding.h"
#include "kernels/op_checks.h"

namespace me {

namespace {

void check_args(const char* op, const Tensor& ids, const Tensor& table, const Tensor& rows) {
  check_dtype(op, "ids", ids, DType::kI32);
  ME_CHECK(ids.ndim() == 1, "{}: ids is {}, expected (N)", op, ids.describe());
  check_float(op, "table", table);
  ME_CHECK(table.ndim() == 2, "{}: table is {}, expected (V, C)", op, table.describe());
  check_dtype(op, "rows", rows, table.dtype());
  check_shape(op, "rows", rows, {ids.dim(0), table.dim(1)});
}

// Token ids come from user data (a tokenizer or a dataset built for another vocabulary).
void check_ids_in_range(const char* op, const Tensor& ids, int64_t vocab) {
  const int32_t* p = ids.data<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (p[i] < 0 || p[i] >= vocab) {
      throw Error(fmt::format("{}: token id {} at position {} is outside the vocabulary [0, {})",
                              op, p[i], i, vocab));
    }
  }
}

}  // namespace

void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out) {
  constexpr const char* op = "embedding_forward";
  check_args(op, ids, table, out);
  if (!on_cpu(op, ids, table, out)) throw Error("embedding_forward: no CUDA implementation yet");
  check_ids_in_range(op, ids, table.dim(0));
  cpu::embedding_forward(ids, table, out);
}

void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) {
  constexpr const char* op = "embedding_backward";
  check_args(op, ids, dtable, dout);
  if (!on_cpu(op, ids, dout, dtable)) throw Error("embedding_backward: no CUDA implementation yet");
  check_ids_in_range(op, ids, dtable.dim(0));
  cpu::embedding_backward(ids, dout, dtable);
}

}  // namespace me
