// Argument checks shared by the op entry points.
#include "kernels/op_checks.h"

#include <fmt/format.h>

namespace me {

void check_float(std::string_view op, std::string_view name, const Tensor& t) {
  ME_CHECK(t.defined(), "{}: {} is undefined", op, name);
  if (t.dtype() == DType::kF32 || t.dtype() == DType::kF64) return;
  if (t.dtype() == DType::kBF16 || t.dtype() == DType::kF16) {
    if (t.device().is_cuda()) return;
    throw Error(
        fmt::format("{}: {} is {}; bf16 and f16 compute on CUDA only (the CPU computes in "
                    "f32 or f64)",
                    op, name, t.describe()));
  }
  throw Error(
      fmt::format("{}: {} is {}; this op supports f32, f64, bf16 and f16", op, name, t.describe()));
}

void check_dtype(std::string_view op, std::string_view name, const Tensor& t, DType dtype) {
  ME_CHECK(t.defined(), "{}: {} is undefined", op, name);
  ME_CHECK(t.dtype() == dtype, "{}: {} is {}, expected {}", op, name, t.describe(),
           dtype_name(dtype));
}

void check_shape(std::string_view op, std::string_view name, const Tensor& t, const Shape& shape) {
  ME_CHECK(t.defined(), "{}: {} is undefined", op, name);
  ME_CHECK(t.shape() == shape, "{}: {} is {}, expected shape {}", op, name, t.describe(),
           shape_str(shape));
}

void check_like(std::string_view op, std::string_view name, const Tensor& t, const Tensor& ref) {
  check_dtype(op, name, t, ref.dtype());
  check_shape(op, name, t, ref.shape());
}

void check_accum_like(std::string_view op, std::string_view name, const Tensor& t,
                      const Tensor& ref) {
  check_dtype(op, name, t, accum_dtype(ref.dtype()));
  check_shape(op, name, t, ref.shape());
}

}  // namespace me
