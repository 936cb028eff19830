// matmul entry point: shape/dtype checks, then host BLAS or cuBLAS.
#include "kernels/matmul.h"

#include "kernels/cpu/matmul.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/matmul.h"
#endif
#include "kernels/op_checks.h"

namespace me {

void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, float alpha,
            float beta) {
  constexpr const char* op = "matmul";
  check_float(op, "a", a);
  check_dtype(op, "b", b, a.dtype());
  if (c.dtype() != a.dtype()) check_dtype(op, "c", c, accum_dtype(a.dtype()));
  const int nd = a.ndim();
  ME_CHECK((nd == 2 || nd == 3) && b.ndim() == nd && c.ndim() == nd,
           "matmul: a {}, b {}, c {} must all be 2-D or all 3-D", a.describe(), b.describe(),
           c.describe());
  if (nd == 3) {
    ME_CHECK(b.dim(0) == a.dim(0) && c.dim(0) == a.dim(0), "matmul: batch of a {}, b {}, c {}",
             a.describe(), b.describe(), c.describe());
  }
  const int64_t m = trans_a ? a.dim(-1) : a.dim(-2);
  const int64_t k = trans_a ? a.dim(-2) : a.dim(-1);
  const int64_t kb = trans_b ? b.dim(-1) : b.dim(-2);
  const int64_t n = trans_b ? b.dim(-2) : b.dim(-1);
  ME_CHECK(k == kb && c.dim(-2) == m && c.dim(-1) == n,
           "matmul: op(a) {}x{} @ op(b) {}x{} into c {} (trans_a {}, trans_b {})", m, k, kb, n,
           c.describe(), trans_a, trans_b);
  if (!on_cpu(op, a, b, c)) {
    ME_CUDA_OP("matmul", cuda::matmul(a, trans_a, b, trans_b, c, alpha, beta));
    return;
  }
  cpu::matmul(a, trans_a, b, trans_b, c, alpha, beta);
}

}  // namespace me
