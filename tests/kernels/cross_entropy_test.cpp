// Cross-entropy: known logits by hand, stability at large logits, f64 finite-difference gradient
// with a random dlosses vector, f32-vs-f64 agreement and out-of-range targets as user errors.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "kernels/cross_entropy.h"
#include "tests/support/grad_check.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

namespace {

struct CeOut {
  Tensor losses, lse;
};

CeOut run_forward(const Tensor& logits, const Tensor& targets) {
  const int64_t n = logits.dim(0);
  CeOut o{Tensor::zeros({n}, logits.dtype()), Tensor::zeros({n}, logits.dtype())};
  cross_entropy_forward(logits, targets, o.losses, o.lse);
  return o;
}

}  // namespace

TEST_CASE("cross_entropy of known logits matches log-sum-exp by hand, even at large logits") {
  // lse([1, 2, 3]) = log(e + e^2 + e^3) = 3.40760596444438; loss(target 0) = lse - 1,
  // loss(target 2) = lse - 3. Shifting every logit by 1000 shifts lse only.
  const double lse = 3.40760596444438;
  const Tensor logits = Tensor::from_vector<double>({1, 2, 3, 1001, 1002, 1003}, {2, 3});
  const Tensor targets = Tensor::from_vector<int32_t>({0, 2}, {2});
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const CeOut o = run_forward(logits.cast(dtype), targets);
    // f32 spacing near 1003 is 6.1e-5, so the loss there (a difference of such numbers) is
    // good to ~1e-4 absolute.
    const double abs_tol = dtype == DType::kF64 ? 1e-13 : 2e-4;
    const double rel_tol = dtype == DType::kF64 ? 1e-13 : 1e-6;
    expect_close(o.losses, Tensor::from_vector<double>({lse - 1, lse - 3}, {2}), abs_tol, rel_tol,
                 "losses");
    expect_close(o.lse, Tensor::from_vector<double>({lse, lse + 1000}, {2}), abs_tol, rel_tol,
                 "lse");
  }
}

TEST_CASE("cross_entropy backward matches f64 finite differences with random dlosses") {
  const uint64_t seed = 21;
  const Tensor logits = random_tensor({5, 11}, DType::kF64, seed, 3.0);
  const Tensor targets = me::test::random_ids({5}, 11, seed + 1);
  const Tensor dlosses = random_tensor({5}, DType::kF64, seed + 2);
  auto loss = [&] { return me::test::weighted_sum(run_forward(logits, targets).losses, dlosses); };
  const CeOut o = run_forward(logits, targets);
  Tensor dlogits = Tensor::zeros({5, 11}, DType::kF64);
  cross_entropy_backward(logits, targets, o.lse, dlosses, dlogits);
  me::test::check_gradient(loss, logits, dlogits, {}, "cross_entropy dlogits seed=21");
}

TEST_CASE("cross_entropy f32 agrees with f64") {
  const uint64_t seed = 22;
  const Tensor logits = random_tensor({9, 257}, DType::kF64, seed, 8.0);
  const Tensor targets = me::test::random_ids({9}, 257, seed + 1);
  const Tensor dlosses = random_tensor({9}, DType::kF64, seed + 2);
  const CeOut o64 = run_forward(logits, targets);
  const CeOut o32 = run_forward(logits.cast(DType::kF32), targets);
  expect_close(o32.losses, o64.losses, 1e-5, 1e-5, "losses f32 seed=22");
  Tensor d64 = Tensor::zeros({9, 257}, DType::kF64), d32 = Tensor::zeros({9, 257}, DType::kF32);
  cross_entropy_backward(logits, targets, o64.lse, dlosses, d64);
  cross_entropy_backward(logits.cast(DType::kF32), targets, o32.lse, dlosses.cast(DType::kF32),
                         d32);
  expect_close(d32, d64, 1e-6, 1e-4, "dlogits f32 seed=22");
}

TEST_CASE("a target on another vocab shard gives loss lse and no one-hot gradient") {
  // Logits [0, ln 2, ln 3]: lse = ln 6, softmax = [1, 2, 3] / 6; the row's target logit is on
  // another rank, so this rank's loss is lse and its gradient the softmax times dloss.
  const Tensor logits = Tensor::from_vector<double>({0, std::log(2.0), std::log(3.0)}, {1, 3});
  const Tensor targets = Tensor::from_vector<int32_t>({kTargetOnAnotherShard}, {1});
  const CeOut o = run_forward(logits, targets);
  CHECK(o.losses.to_vector<double>()[0] == doctest::Approx(std::log(6.0)).epsilon(1e-15));
  CHECK(o.lse.to_vector<double>()[0] == doctest::Approx(std::log(6.0)).epsilon(1e-15));
  Tensor dlogits = Tensor::zeros({1, 3}, DType::kF64);
  cross_entropy_backward(logits, targets, o.lse, Tensor::from_vector<double>({0.5}, {1}), dlogits);
  const std::vector<double> d = dlogits.to_vector<double>();
  for (int j = 0; j < 3; ++j) CHECK(d[j] == doctest::Approx(0.5 * (j + 1) / 6.0).epsilon(1e-15));
}

TEST_CASE("cross_entropy reports a target outside the vocabulary") {
  const Tensor logits = Tensor::zeros({2, 5}, DType::kF32);
  Tensor losses = Tensor::zeros({2}, DType::kF32), lse = losses.clone();
  try {
    cross_entropy_forward(logits, Tensor::from_vector<int32_t>({0, 5}, {2}), losses, lse);
    FAIL("expected me::Error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("target 5 at row 1") != std::string::npos);
  }
}
