// Tensor views, reshapes, casts and the bf16/fp16 conversions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "engine/core/philox.h"
#include "engine/core/tensor.h"

using namespace me;

TEST_CASE("views share storage and respect bounds") {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor row = t.view(3, {3});
  row.data<float>()[0] = 40;
  CHECK(t.to_vector<float>()[3] == 40);
  CHECK_THROWS_AS(t.view(4, {3}), InternalError);
  CHECK(t.reshape({3, -1}).dim(1) == 2);
  CHECK_THROWS_AS(t.reshape({4, 2}), InternalError);
  CHECK_THROWS_AS(t.data<double>(), InternalError);
}

TEST_CASE("bf16 rounds to nearest even and fp16 matches IEEE binary16") {
  CHECK(static_cast<float>(BFloat16(1.0f)) == 1.0f);
  // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even (1).
  CHECK(static_cast<float>(BFloat16(1.0f + 1.0f / 256)) == 1.0f);
  CHECK(static_cast<float>(BFloat16(1.0f + 3.0f / 256)) == 1.0f + 4.0f / 256);
  CHECK(std::isnan(static_cast<float>(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(Float16(1.0f).bits == 0x3c00);
  CHECK(Float16(65504.0f).bits == 0x7bff);
  CHECK(Float16(65536.0f).bits == 0x7c00);
  CHECK(Float16(-2.0f).bits == 0xc000);
  CHECK(Float16(5.960464477539063e-08f).bits == 0x0001);  // smallest subnormal
  CHECK(static_cast<float>(Float16(0.1f)) == doctest::Approx(0.0999755859375f).epsilon(1e-9));
  for (uint32_t bits = 0; bits < 0x7c00; bits += 7) {
    Float16 h;
    h.bits = static_cast<uint16_t>(bits);
    CHECK(Float16(static_cast<float>(h)).bits == h.bits);
  }
}

TEST_CASE("cast round trip and philox determinism") {
  Tensor t = Tensor::from_vector<float>({0.5f, -1.25f, 3.0f}, {3});
  CHECK(t.cast(DType::kBF16).cast(DType::kF32).to_vector<float>() == t.to_vector<float>());
  CHECK(t.cast(DType::kI32).to_vector<int32_t>() == std::vector<int32_t>{0, -1, 3});
  // Known-answer test from the Random123 distribution (philox4x32_10, kat_vectors):
  // counter 0, key 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
  const Philox4x32 r = philox4x32(0, 0, 0);
  CHECK(r.v[0] == 0x6627e8d5u);
  CHECK(r.v[1] == 0xe169c58du);
  CHECK(r.v[2] == 0xbc57ac4cu);
  CHECK(r.v[3] == 0x9b00dbd8u);
  double sum = 0, sum_sq = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double x = philox_normal(42, 7, i);
    sum += x;
    sum_sq += x * x;
  }
  CHECK(std::abs(sum / n) < 0.02);
  CHECK(std::abs(sum_sq / n - 1.0) < 0.02);
}
