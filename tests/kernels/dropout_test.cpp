// Dropout: the mask is Philox(seed, stream, index) > p, keeps 1-p of 100k elements within 3 sigma,
// is the same across calls and thread counts, scales by 1/(1-p), backward applies the same map,
// and a call with a first index equals that slice of the whole tensor's call.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/core/philox.h"
#include "kernels/dropout.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::random_tensor;

TEST_CASE("dropout keeps 1-p of the elements within 3 sigma, scaled by 1/(1-p)") {
  const int64_t n = 100000;
  const double p = 0.3;
  const uint64_t seed = 1234, stream = rng_stream("dropout_test");
  const Tensor x = Tensor::from_vector(std::vector<float>(n, 2.0f), {n});
  Tensor y = Tensor::zeros({n}, DType::kF32);
  dropout_forward(x, y, p, seed, stream);
  const std::vector<float> v = y.to_vector<float>();
  int64_t kept = 0, wrong = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool expect_keep = philox_uniform(seed, stream, i) > static_cast<float>(p);
    wrong += v[i] != (expect_keep ? static_cast<float>(2.0 / 0.7) : 0.0f);
    kept += expect_keep;
  }
  CHECK(wrong == 0);
  const double sigma = std::sqrt(p * (1 - p) / n);
  CHECK(std::fabs(static_cast<double>(kept) / n - (1 - p)) < 3 * sigma);
}

TEST_CASE("dropout mask is identical across calls and thread counts, and differs by stream") {
  const int64_t n = 100000;
  const Tensor x = random_tensor({n}, DType::kF32, 3);
  Tensor a = Tensor::zeros({n}, DType::kF32), b = a.clone(), c = a.clone(), d = a.clone();
  {
    me::test::ScopedThreadCount threads(1);
    dropout_forward(x, a, 0.1, 42, 7);
  }
  {
    me::test::ScopedThreadCount threads(2);
    dropout_forward(x, b, 0.1, 42, 7);
    dropout_forward(x, c, 0.1, 42, 7);
    dropout_forward(x, d, 0.1, 42, 8);
  }
  me::test::expect_bitwise_equal(a, b, "threads 1 vs 2");
  me::test::expect_bitwise_equal(b, c, "two calls");
  int64_t differ = 0;
  for (int64_t i = 0; i < n; ++i) differ += b.data<float>()[i] != d.data<float>()[i];
  CHECK(differ > n / 10);  // ~18% of elements differ between independent masks at p = 0.1
}

TEST_CASE("dropout backward matches f64 finite differences and p = 0 copies") {
  const uint64_t seed = 6, stream = 99;
  const Tensor x = random_tensor({5, 7}, DType::kF64, seed);
  const Tensor dy = random_tensor({5, 7}, DType::kF64, seed + 1);
  auto loss = [&] {
    Tensor y = Tensor::zeros(x.shape(), DType::kF64);
    dropout_forward(x, y, 0.3, seed, stream);
    return me::test::weighted_sum(y, dy);
  };
  Tensor dx = Tensor::zeros(x.shape(), DType::kF64);
  dropout_backward(dy, dx, 0.3, seed, stream);
  me::test::check_gradient(loss, x, dx, {}, "dropout dx seed=6");

  Tensor y = Tensor::zeros(x.shape(), DType::kF64);
  dropout_forward(x, y, 0.0, seed, stream);
  me::test::expect_bitwise_equal(y, x, "p = 0");
}

TEST_CASE("dropout with a first index equals the slice of the whole call") {
  // A sequence-parallel rank's rows: elements [300, 700) of 1000, forward and backward.
  const int64_t n = 1000, first = 300, len = 400;
  const uint64_t seed = 11, stream = rng_stream("first_index");
  const Tensor x = random_tensor({n}, DType::kF32, 21);
  const Tensor part = x.view(first, {len}).clone();
  Tensor whole = Tensor::zeros({n}, DType::kF32), mine = Tensor::zeros({len}, DType::kF32);
  dropout_forward(x, whole, 0.3, seed, stream);
  dropout_forward(part, mine, 0.3, seed, stream, first);
  me::test::expect_bitwise_equal(mine, whole.view(first, {len}).clone(), "forward slice");
  dropout_backward(x, whole, 0.3, seed, stream);
  dropout_backward(part, mine, 0.3, seed, stream, first);
  me::test::expect_bitwise_equal(mine, whole.view(first, {len}).clone(), "backward slice");
  // The slice drew its own numbers: from index 0 it keeps other elements.
  Tensor from_zero = Tensor::zeros({len}, DType::kF32);
  dropout_forward(part, from_zero, 0.3, seed, stream);
  int64_t differ = 0;
  for (int64_t i = 0; i < len; ++i) {
    differ += (from_zero.data<float>()[i] == 0.0f) != (mine.data<float>()[i] == 0.0f);
  }
  CHECK(differ > len / 10);  // independent masks at p = 0.3 disagree on ~42% of elements
}

TEST_CASE("dropout rejects probabilities below 0 or from 1 up") {
  const Tensor x = Tensor::zeros({4}, DType::kF32);
  Tensor y = x.clone();
  CHECK_THROWS_AS(dropout_forward(x, y, 1.0, 0, 0), Error);
  CHECK_THROWS_AS(dropout_forward(x, y, -0.1, 0, 0), Error);
}
