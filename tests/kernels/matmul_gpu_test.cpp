// CUDA matmul (cuBLAS, TF32 off) against the host BLAS reference: every transpose combination,
// 2-D and batched 3-D, alpha/beta accumulation, odd shapes, NaN-poisoned outputs, determinism.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "kernels/matmul.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

Shape operand(const Shape& batch, int64_t rows, int64_t cols, bool trans) {
  Shape s = batch;
  s.push_back(trans ? cols : rows);
  s.push_back(trans ? rows : cols);
  return s;
}

// c = alpha op(a) op(b) + beta c on both devices; beta == 0 starts the GPU output from NaN.
void check_matmul(const Shape& batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                  float alpha, float beta, double abs_tol, uint64_t seed) {
  const std::string ctx = fmt::format("matmul batch {} m {} n {} k {} ta {} tb {} alpha {} beta {}",
                                      shape_str(batch), m, n, k, ta, tb, alpha, beta);
  const Tensor a = test::random_tensor(operand(batch, m, k, ta), DType::kF32, seed);
  const Tensor b = test::random_tensor(operand(batch, k, n, tb), DType::kF32, seed + 1);
  Shape cs = batch;
  cs.push_back(m);
  cs.push_back(n);
  Tensor c_cpu = test::random_tensor(cs, DType::kF32, seed + 2);
  Tensor c_gpu =
      beta == 0.0f ? test::poisoned(cs, DType::kF32, test::gpu_device()) : test::to_gpu(c_cpu);
  matmul(a, ta, b, tb, c_cpu, alpha, beta);
  matmul(test::to_gpu(a), ta, test::to_gpu(b), tb, c_gpu, alpha, beta);
  test::expect_gpu_close(c_gpu, c_cpu, abs_tol, test::kRelTol, ctx);
}

TEST_CASE("cuda matmul matches the host for every transpose in 2-D with and without beta") {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      check_matmul({}, 37, 29, 53, ta, tb, 1.0f, 0.0f, test::kAbsTol, 11);
      check_matmul({}, 37, 29, 53, ta, tb, 0.7f, 0.5f, test::kAbsTol, 12);
      check_matmul({}, 1, 1, 1, ta, tb, 1.0f, 1.0f, test::kAbsTol, 13);
    }
  }
}

TEST_CASE("cuda matmul matches the host for batched 3-D operands") {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      check_matmul({3}, 19, 33, 17, ta, tb, 1.0f, 0.0f, test::kAbsTol, 21);
      check_matmul({5}, 8, 7, 9, ta, tb, 0.5f, 1.0f, test::kAbsTol, 22);
    }
  }
}

TEST_CASE("cuda matmul with a long reduction stays within a K-scaled tolerance") {
  // K = 2000 terms of magnitude up to 1: the two devices' different summation orders differ by
  // about sqrt(K) ulps of the partial sums (~1e-5), so the absolute tolerance is 1e-4 here.
  check_matmul({}, 17, 19, 2000, false, true, 1.0f, 0.0f, 1e-4, 31);
  check_matmul({}, 17, 19, 2000, true, false, 1.0f, 1.0f, 1e-4, 32);
}

TEST_CASE("cuda matmul is deterministic and rejects f64") {
  const Device g = test::gpu_device();
  const Tensor a = test::to_gpu(test::random_tensor({64, 96}, DType::kF32, 41));
  const Tensor b = test::to_gpu(test::random_tensor({96, 48}, DType::kF32, 42));
  Tensor c1 = test::poisoned({64, 48}, DType::kF32, g),
         c2 = test::poisoned({64, 48}, DType::kF32, g);
  matmul(a, false, b, false, c1);
  matmul(a, false, b, false, c2);
  test::expect_gpu_bitwise(c1, c2, "matmul twice");
  const Tensor a64 = test::random_tensor({4, 4}, DType::kF64, 43).to(g);
  Tensor c64 = Tensor::zeros({4, 4}, DType::kF64, g);
  CHECK_THROWS_WITH_AS(matmul(a64, false, a64, false, c64), doctest::Contains("f64 tensors are not supported"), Error);
}

}  // namespace
}  // namespace me
