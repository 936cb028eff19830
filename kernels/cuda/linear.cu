// cuBLASLt GEMMs with fused epilogues (bias, GeLU with its input kept, GeLU derivative, bias
// gradient), row-major by the transpose trick of matmul.cu: row-major y = x w^T is column-major
// y^T = w^T-op(w) x^T. Each distinct problem (shapes, dtypes, epilogue, alignment) gets its
// descriptors and heuristic algorithm once; later calls only set the pointers.
#include <cublasLt.h>

#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/linear.h"
#include "kernels/determinism.h"
#include "kernels/elementwise.h"

namespace me::cuda {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // cuBLAS's recommendation for Hopper

cudaDataType_t lt_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return CUDA_R_32F;
    case DType::kBF16:
      return CUDA_R_16BF;
    case DType::kF16:
      return CUDA_R_16F;
    default:
      throw Error(fmt::format("linear: {} tensors are not supported on CUDA", dtype_name(dtype)));
  }
}

// Column-major D (m x n, ld m) = op(A) (m x k) op(B) (k x n) [+ D when accumulating].
struct Problem {
  cublasOperation_t op_a, op_b;
  int64_t m, n, k, lda, ldb;
  cudaDataType_t in_type, out_type;
  cublasLtEpilogue_t epilogue;
  int64_t aux_ld = 0;       // 0 without an aux matrix
  bool accumulate = false;  // beta = 1
  bool aligned = false;     // every pointer 16-byte aligned (the heuristic depends on it)
  bool deterministic = false;

  auto key() const {
    return std::make_tuple(op_a, op_b, m, n, k, lda, ldb, in_type, out_type, epilogue, aux_ld,
                           accumulate, aligned, deterministic);
  }
  bool operator<(const Problem& o) const { return key() < o.key(); }
};

struct Plan {
  bool supported = false;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

struct LtState {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::map<Problem, Plan> plans;
};

LtState& lt_state(const Context& ctx) {
  static auto* states = new std::map<int, LtState>();
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  LtState& s = (*states)[ctx.device];
  if (!s.handle) {
    ME_CUBLAS_CHECK(cublasLtCreate(&s.handle));
    ME_CUDA_CHECK(cudaMalloc(&s.workspace, kWorkspaceBytes));
  }
  return s;
}

template <typename T>
void set_attribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const T& v) {
  ME_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, attr, &v, sizeof(v)));
}

Plan make_plan(const LtState& s, const Problem& p) {
  Plan plan;
  ME_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, p.op_a);
  set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, p.op_b);
  set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, p.epilogue);
  if (p.aux_ld) set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, p.aux_ld);
  const bool a_t = p.op_a == CUBLAS_OP_T, b_t = p.op_b == CUBLAS_OP_T;
  ME_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&plan.a, p.in_type, a_t ? p.k : p.m, a_t ? p.m : p.k, p.lda));
  ME_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&plan.b, p.in_type, b_t ? p.n : p.k, b_t ? p.k : p.n, p.ldb));
  ME_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.d, p.out_type, p.m, p.n, p.m));
  cublasLtMatmulPreference_t pref = nullptr;
  ME_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t workspace = kWorkspaceBytes;
  ME_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace)));
  if (p.deterministic) {
    // Split-K partials added in place in the output may land in any order; keep the others.
    const uint32_t schemes = CUBLASLT_REDUCTION_SCHEME_MASK & ~CUBLASLT_REDUCTION_SCHEME_INPLACE;
    ME_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &schemes, sizeof(schemes)));
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      s.handle, plan.desc, plan.a, plan.b, plan.d, plan.d, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  plan.supported = status == CUBLAS_STATUS_SUCCESS && found > 0;
  if (plan.supported) plan.algo = result.algo;
  return plan;
}

// Runs p with the given pointers; false when cuBLASLt has no algorithm for it.
bool run(const Context& ctx, Problem p, const void* a, const void* b, void* d, const void* bias,
         void* aux) {
  if (p.m == 0 || p.n == 0) return true;
  if (p.k == 0) return false;  // an empty sum: the unfused path handles it
  auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  p.aligned = aligned(a) && aligned(b) && aligned(d) && aligned(bias) && aligned(aux);
  p.deterministic = deterministic_algorithms();
  LtState& s = lt_state(ctx);
  auto it = s.plans.find(p);
  if (it == s.plans.end()) it = s.plans.emplace(p, make_plan(s, p)).first;
  Plan& plan = it->second;
  if (!plan.supported) return false;
  if (bias) set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
  if (aux) set_attribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, aux);
  const float alpha = 1.0f, beta = p.accumulate ? 1.0f : 0.0f;
  ME_CUBLAS_CHECK(cublasLtMatmul(s.handle, plan.desc, &alpha, a, plan.a, b, plan.b, &beta, d,
                                 plan.d, d, plan.d, &plan.algo, s.workspace, kWorkspaceBytes,
                                 ctx.stream));
  return true;
}

Problem make_problem(cublasOperation_t op_a, cublasOperation_t op_b, int64_t m, int64_t n,
                     int64_t k, int64_t lda, int64_t ldb, DType in, DType out,
                     cublasLtEpilogue_t epilogue) {
  return {op_a, op_b, m, n, k, lda, ldb, lt_type(in), lt_type(out), epilogue};
}

// y (N, M) = x w^T: column-major y^T (M x N) = op_T(w stored K x M) x^T (K x N).
Problem forward_problem(const Tensor& x, const Tensor& w, DType out, cublasLtEpilogue_t epilogue) {
  const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
  return make_problem(CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, k, k, x.dtype(), out, epilogue);
}

}  // namespace

bool linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  const Context& ctx = context(x.device());
  const Problem p = forward_problem(
      x, w, y.dtype(), bias.defined() ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT);
  return run(ctx, p, w.raw_data(), x.raw_data(), y.raw_data(),
             bias.defined() ? bias.raw_data() : nullptr, nullptr);
}

bool linear_gelu_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& pre,
                         Tensor& y) {
  if (w.dim(0) % 8 != 0) return false;  // the aux leading dimension must divide by 8
  const Context& ctx = context(x.device());
  Problem p = forward_problem(
      x, w, y.dtype(),
      bias.defined() ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX);
  p.aux_ld = w.dim(0);
  return run(ctx, p, w.raw_data(), x.raw_data(), y.raw_data(),
             bias.defined() ? bias.raw_data() : nullptr, pre.raw_data());
}

bool linear_gelu_backward_input(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dx) {
  // dx (N, K) = dy (N, M) w (M, K): column-major dx^T (K x N) = w (stored K x M) dy^T (M x N).
  const int64_t n = dy.dim(0), m = dy.dim(1), k = w.dim(1);
  if (k % 8 != 0) return false;
  const Context& ctx = context(dy.device());
  Problem p = make_problem(CUBLAS_OP_N, CUBLAS_OP_N, k, n, m, k, m, dy.dtype(), dx.dtype(),
                           CUBLASLT_EPILOGUE_DGELU);
  p.aux_ld = k;
  return run(ctx, p, w.raw_data(), dy.raw_data(), dx.raw_data(), nullptr, pre.raw_data());
}

bool linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& dbias) {
  // dw (M, K) += dy^T x: column-major dw^T (K x M) = x^T (stored K x N) op_T(dy stored M x N);
  // BGRADB sums op(B) = dy over the reduction dimension (the N rows): the bias gradient.
  const int64_t n = dy.dim(0), m = dy.dim(1), k = x.dim(1);
  const Context& ctx = context(dy.device());
  Problem p = make_problem(CUBLAS_OP_N, CUBLAS_OP_T, k, m, n, k, m, dy.dtype(), dw.dtype(),
                           dbias.defined() ? CUBLASLT_EPILOGUE_BGRADB : CUBLASLT_EPILOGUE_DEFAULT);
  p.accumulate = true;
  if (!dbias.defined())
    return run(ctx, p, x.raw_data(), dy.raw_data(), dw.raw_data(), nullptr, nullptr);
  // The epilogue writes the bias gradient; the gradient accumulates, so it goes through a buffer.
  Tensor db = Tensor::empty({m}, dbias.dtype(), dbias.device());
  if (!run(ctx, p, x.raw_data(), dy.raw_data(), dw.raw_data(), db.raw_data(), nullptr)) {
    return false;
  }
  me::add_into(dbias, db);
  return true;
}

}  // namespace me::cuda
