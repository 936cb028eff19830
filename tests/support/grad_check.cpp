// Test support: seeded random tensors, tolerance and bitwise comparisons, central differences.
#include "tests/support/grad_check.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/core/philox.h"

namespace me::test {
namespace {

const uint64_t kRandomStream = rng_stream("test.random_tensor");

std::string describe_pair(const Tensor& a, const Tensor& b, std::string_view context) {
  return fmt::format("[{}] actual {}, expected {}", context, a.describe(), b.describe());
}

}  // namespace

Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed, double scale) {
  std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = scale * (2.0 * philox_uniform(seed, kRandomStream, i) - 1.0);
  }
  Tensor t = Tensor::from_vector(values, shape);
  return dtype == DType::kF64 ? t : t.cast(dtype);
}

Tensor random_ids(const Shape& shape, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> ids(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < ids.size(); ++i) {
    const double u = philox_uniform(seed, kRandomStream, i);  // (0, 1]
    ids[i] = static_cast<int32_t>(std::min<int64_t>(vocab - 1, static_cast<int64_t>(u * vocab)));
  }
  return Tensor::from_vector(ids, shape);
}

void expect_close(const Tensor& actual, const Tensor& expected, double abs_tol, double rel_tol,
                  std::string_view context) {
  const std::string what = describe_pair(actual, expected, context);
  REQUIRE_MESSAGE(actual.shape() == expected.shape(), what, ": shapes differ");
  const std::vector<double> a = actual.to(Device::cpu()).cast(DType::kF64).to_vector<double>();
  const std::vector<double> e = expected.to(Device::cpu()).cast(DType::kF64).to_vector<double>();
  bool any_nonzero = false, all_finite = true;
  int64_t bad = 0, worst = -1;
  double worst_excess = 0.0;
  for (size_t i = 0; i < e.size(); ++i) {
    any_nonzero = any_nonzero || e[i] != 0.0;
    all_finite = all_finite && std::isfinite(e[i]);
    const double err = std::fabs(a[i] - e[i]);
    const double excess = err / (abs_tol + rel_tol * std::fabs(e[i]));
    if (!(err <= abs_tol + rel_tol * std::fabs(e[i]))) {
      ++bad;
      if (worst < 0 || !(excess <= worst_excess)) {
        worst = static_cast<int64_t>(i);
        worst_excess = excess;
      }
    }
  }
  CHECK_MESSAGE(any_nonzero, what, ": the reference is all zeros");
  CHECK_MESSAGE(all_finite, what, ": the reference has non-finite values");
  if (bad > 0) {
    FAIL_CHECK(
        fmt::format("{}: {} of {} elements outside abs {:g} + rel {:g}; worst at flat index "
                    "{}: actual {:.17g}, expected {:.17g}",
                    what, bad, e.size(), abs_tol, rel_tol, worst, a[worst], e[worst]));
  }
}

void expect_close_allowing_neg_inf(const Tensor& actual, const Tensor& expected, double abs_tol,
                                   double rel_tol, std::string_view context) {
  const std::string what = describe_pair(actual, expected, context);
  REQUIRE_MESSAGE(actual.shape() == expected.shape(), what, ": shapes differ");
  std::vector<double> a = actual.to(Device::cpu()).cast(DType::kF64).to_vector<double>();
  std::vector<double> e = expected.to(Device::cpu()).cast(DType::kF64).to_vector<double>();
  int64_t mismatched = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    const bool want_inf = e[i] == -INFINITY;
    if (want_inf != (a[i] == -INFINITY)) ++mismatched;
    if (want_inf) a[i] = e[i] = 0.0;
  }
  CHECK_MESSAGE(mismatched == 0, what, ": ", mismatched, " elements are -inf in only one");
  expect_close(Tensor::from_vector(a, actual.shape()), Tensor::from_vector(e, expected.shape()),
               abs_tol, rel_tol, context);
}

void expect_bitwise_equal(const Tensor& a, const Tensor& b, std::string_view context) {
  const std::string what = describe_pair(a, b, context);
  REQUIRE_MESSAGE((a.shape() == b.shape() && a.dtype() == b.dtype()), what, ": differ in type");
  const size_t es = dtype_size(a.dtype());
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  const char* pa = static_cast<const char*>(ha.raw_data());
  const char* pb = static_cast<const char*>(hb.raw_data());
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::memcmp(pa + i * es, pb + i * es, es) != 0) {
      FAIL_CHECK(fmt::format("{}: first difference at flat index {}", what, i));
      return;
    }
  }
}

double weighted_sum(const Tensor& out, const Tensor& weights) {
  REQUIRE_MESSAGE(out.shape() == weights.shape(), out.describe(), " vs ", weights.describe());
  const std::vector<double> o = out.cast(DType::kF64).to_vector<double>();
  const std::vector<double> w = weights.cast(DType::kF64).to_vector<double>();
  double sum = 0.0;
  for (size_t i = 0; i < o.size(); ++i) sum += o[i] * w[i];
  return sum;
}

Tensor numeric_gradient(const std::function<double()>& loss, const Tensor& input, double step) {
  REQUIRE_MESSAGE((input.dtype() == DType::kF64 && input.device().is_cpu()),
                  "numeric_gradient needs an f64 host tensor, got ", input.describe());
  Tensor grad = Tensor::empty(input.shape(), DType::kF64);
  double* x = input.data<double>();
  double* g = grad.data<double>();
  for (int64_t i = 0; i < input.numel(); ++i) {
    const double saved = x[i];
    x[i] = saved + step;
    const double up = loss();
    x[i] = saved - step;
    const double down = loss();
    x[i] = saved;
    g[i] = (up - down) / (2.0 * step);
  }
  return grad;
}

void check_gradient(const std::function<double()>& loss, const Tensor& input,
                    const Tensor& analytic, const GradCheckOptions& options,
                    std::string_view context) {
  const Tensor numeric = numeric_gradient(loss, input, options.step);
  expect_close(analytic, numeric, options.abs_tol, options.rel_tol, context);
}

}  // namespace me::test
