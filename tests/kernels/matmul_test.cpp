// matmul: hand-computed 2x2 products under every transpose, alpha/beta, batched odd shapes against
// a naive triple loop, the gradient identities Linear relies on, and thread-count determinism.
#include <doctest/doctest.h>

#include "kernels/matmul.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

namespace {

// c[b] = op(a[b]) @ op(b[b]) computed element by element in f64.
Tensor naive_matmul(const Tensor& a, bool ta, const Tensor& b, bool tb) {
  const int64_t batch = a.ndim() == 3 ? a.dim(0) : 1;
  const int64_t m = ta ? a.dim(-1) : a.dim(-2), k = ta ? a.dim(-2) : a.dim(-1);
  const int64_t n = tb ? b.dim(-2) : b.dim(-1);
  Shape shape = a.ndim() == 3 ? Shape{batch, m, n} : Shape{m, n};
  Tensor c = Tensor::zeros(shape, DType::kF64);
  const std::vector<double> pa = a.cast(DType::kF64).to_vector<double>();
  const std::vector<double> pb = b.cast(DType::kF64).to_vector<double>();
  double* pc = c.data<double>();
  for (int64_t s = 0; s < batch; ++s) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t x = 0; x < k; ++x) {
          const double av = ta ? pa[(s * k + x) * m + i] : pa[(s * m + i) * k + x];
          const double bv = tb ? pb[(s * n + j) * k + x] : pb[(s * k + x) * n + j];
          acc += av * bv;
        }
        pc[(s * m + i) * n + j] = acc;
      }
    }
  }
  return c;
}

}  // namespace

TEST_CASE("matmul of 2x2 matrices under every transpose matches hand-computed products") {
  for (DType dtype : {DType::kF32, DType::kF64}) {
    const Tensor a = Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2}).cast(dtype);
    const Tensor b = Tensor::from_vector<double>({5, 6, 7, 8}, {2, 2}).cast(dtype);
    struct Case {
      bool ta, tb;
      std::vector<double> expected;
    };
    // A = [[1,2],[3,4]], B = [[5,6],[7,8]]: AB, A^T B, A B^T, A^T B^T = (BA)^T.
    for (const Case& c :
         {Case{false, false, {19, 22, 43, 50}}, Case{true, false, {26, 30, 38, 44}},
          Case{false, true, {17, 23, 39, 53}}, Case{true, true, {23, 31, 34, 46}}}) {
      Tensor out = Tensor::zeros({2, 2}, dtype);
      matmul(a, c.ta, b, c.tb, out);
      CHECK(out.cast(DType::kF64).to_vector<double>() == c.expected);
    }
  }
}

TEST_CASE("matmul scales by alpha and accumulates beta times c") {
  const Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  const Tensor b = Tensor::from_vector<float>({5, 6, 7, 8}, {2, 2});
  Tensor c = Tensor::from_vector<float>({1, 1, 1, 1}, {2, 2});
  matmul(a, false, b, false, c, 2.0f, 0.5f);  // 2 * [[19,22],[43,50]] + 0.5
  CHECK(c.to_vector<float>() == std::vector<float>{38.5f, 44.5f, 86.5f, 100.5f});
}

TEST_CASE("batched matmul at odd shapes matches a naive loop in f64 and f32") {
  const int64_t batch = 3, m = 5, k = 7, n = 11;
  uint64_t seed = 10;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const Tensor a64 =
          random_tensor(ta ? Shape{batch, k, m} : Shape{batch, m, k}, DType::kF64, ++seed);
      const Tensor b64 =
          random_tensor(tb ? Shape{batch, n, k} : Shape{batch, k, n}, DType::kF64, ++seed);
      const Tensor ref = naive_matmul(a64, ta, b64, tb);
      const std::string what = fmt::format("ta={} tb={} seed={}", ta, tb, seed);
      Tensor c64 = Tensor::zeros({batch, m, n}, DType::kF64);
      matmul(a64, ta, b64, tb, c64);
      expect_close(c64, ref, 1e-13, 1e-13, what);
      Tensor c32 = Tensor::zeros({batch, m, n}, DType::kF32);
      matmul(a64.cast(DType::kF32), ta, b64.cast(DType::kF32), tb, c32);
      expect_close(c32, ref, 1e-5, 1e-5, what);
    }
  }
}

TEST_CASE("matmul gradients of Linear (y = x W^T) match finite differences") {
  // dx = dy W and dW = dy^T x: the two transposed GEMMs a Linear backward runs.
  const uint64_t seed = 3;
  const Tensor x = random_tensor({5, 7}, DType::kF64, seed);
  const Tensor w = random_tensor({11, 7}, DType::kF64, seed + 1);
  const Tensor dy = random_tensor({5, 11}, DType::kF64, seed + 2);
  auto loss = [&] {
    Tensor y = Tensor::zeros({5, 11}, DType::kF64);
    matmul(x, false, w, true, y);
    return me::test::weighted_sum(y, dy);
  };
  Tensor dx = Tensor::zeros({5, 7}, DType::kF64), dw = Tensor::zeros({11, 7}, DType::kF64);
  matmul(dy, false, w, false, dx);
  matmul(dy, true, x, false, dw);
  me::test::check_gradient(loss, x, dx, {}, "matmul dx seed=3");
  me::test::check_gradient(loss, w, dw, {}, "matmul dw seed=3");
}

TEST_CASE("matmul is bitwise identical with 1 and 2 threads") {
  const Tensor a = random_tensor({2, 96, 80}, DType::kF32, 21);
  const Tensor b = random_tensor({2, 72, 80}, DType::kF32, 22);
  Tensor c1 = Tensor::zeros({2, 96, 72}, DType::kF32), c2 = c1.clone();
  {
    me::test::ScopedThreadCount threads(1);
    matmul(a, false, b, true, c1);
  }
  {
    me::test::ScopedThreadCount threads(2);
    matmul(a, false, b, true, c2);
  }
  me::test::expect_bitwise_equal(c1, c2, "matmul threads 1 vs 2");
}

TEST_CASE("matmul rejects mismatched shapes and dtypes") {
  const Tensor a = Tensor::zeros({2, 3}, DType::kF32);
  Tensor c = Tensor::zeros({2, 2}, DType::kF32);
  CHECK_THROWS_AS(matmul(a, false, Tensor::zeros({2, 2}, DType::kF32), false, c), InternalError);
  CHECK_THROWS_AS(matmul(a, false, Tensor::zeros({3, 2}, DType::kF64), false, c), InternalError);
  Tensor ci = Tensor::zeros({2, 2}, DType::kI32);
  CHECK_THROWS_AS(matmul(Tensor::zeros({2, 3}, DType::kI32), false,
                         Tensor::zeros({3, 2}, DType::kI32), false, ci),
                  Error);
}
