// Constant and dynamic loss scalers (megatron-facts 2.6) and unscaling with overflow detection.
#include <doctest/doctest.h>

#include <limits>

#include "engine/optim/loss_scaler.h"
#include "engine/recipe/recipe.h"

using namespace me;

TEST_CASE("dynamic scaler: hysteresis 2 delays the first backoff, and is not reset by one") {
  DynamicLossScaler s(65536.0, 1.0, /*growth_interval=*/3, /*hysteresis=*/2);
  CHECK(s.scale() == 65536.0);
  s.update(true);  // hysteresis tracker 2 -> 1: keep
  CHECK(s.scale() == 65536.0);
  s.update(true);  // 1 -> 0: halve
  CHECK(s.scale() == 32768.0);
  s.update(true);  // 0 -> -1: halve again (tracker not reset)
  CHECK(s.scale() == 16384.0);
  s.update(false);
  s.update(false);  // growth tracker 2 of 3
  CHECK(s.scale() == 16384.0);
  CHECK(s.state().growth_tracker == 2);
  s.update(true);  // growth tracker back to 0; hysteresis -2: halve
  CHECK(s.scale() == 8192.0);
  CHECK(s.state().growth_tracker == 0);
  s.update(false);
  s.update(false);
  CHECK(s.scale() == 8192.0);
  s.update(false);  // third clean step in a row: double, hysteresis refilled to 2
  CHECK(s.scale() == 16384.0);
  CHECK(s.state().hysteresis_tracker == 2);
  CHECK(s.state().growth_tracker == 0);
  s.update(true);  // 2 -> 1: keep
  CHECK(s.scale() == 16384.0);
  s.update(false);
  s.update(true);  // 1 -> 0: halve
  CHECK(s.scale() == 8192.0);
}

TEST_CASE("dynamic scaler never goes under min_scale, and its state round-trips") {
  DynamicLossScaler s(8.0, 2.0, 1000, 1);
  s.update(true);
  CHECK(s.scale() == 4.0);
  s.update(true);
  CHECK(s.scale() == 2.0);
  s.update(true);
  CHECK(s.scale() == 2.0);
  DynamicLossScaler restored(8.0, 2.0, 1000, 1);
  restored.set_state({16.0, 7, -2});
  CHECK(restored.scale() == 16.0);
  CHECK(restored.state().growth_tracker == 7);
  CHECK(restored.state().hysteresis_tracker == -2);
  CHECK_THROWS_WITH_AS(DynamicLossScaler(8.0, 16.0, 1000, 1),
                       doctest::Contains("mixed_precision.min_loss_scale"), Error);
  CHECK_THROWS_WITH_AS(DynamicLossScaler(8.0, 1.0, 1000, 0),
                       doctest::Contains("mixed_precision.hysteresis"), Error);
}

TEST_CASE("make_loss_scaler follows Megatron: fp16 dynamic, loss_scale constant, else none") {
  Recipe r{};
  r.mixed_precision.initial_loss_scale = 4294967296.0;
  r.mixed_precision.min_loss_scale = 1.0;
  r.mixed_precision.loss_scale_window = 1000;
  r.mixed_precision.hysteresis = 2;
  CHECK(make_loss_scaler(r) == nullptr);  // fp32
  r.mixed_precision.bf16 = true;
  CHECK(make_loss_scaler(r) == nullptr);  // bf16 without loss_scale
  r.mixed_precision.loss_scale = 128.0;
  auto constant = make_loss_scaler(r);
  REQUIRE(constant != nullptr);
  CHECK(constant->scale() == 128.0);
  constant->update(true);
  CHECK(constant->scale() == 128.0);
  r.mixed_precision.bf16 = false;
  r.mixed_precision.fp16 = true;
  r.mixed_precision.loss_scale.reset();
  auto dynamic = make_loss_scaler(r);
  REQUIRE(dynamic != nullptr);
  CHECK(dynamic->scale() == 4294967296.0);
  CHECK(dynamic->state().hysteresis_tracker == 2);
  r.mixed_precision.loss_scale_window = 2.5;
  CHECK_THROWS_WITH_AS(make_loss_scaler(r), doctest::Contains("loss_scale_window"), Error);
}

TEST_CASE("unscaling divides the gradients by the scale and reports inf or nan") {
  Parameter a{"a", {3}};
  ParamBuffers buffers({&a}, Device::cpu());
  float* g = a.grad.data<float>();
  g[0] = 1024.0f;
  g[1] = -512.0f;
  g[2] = 2.0f;
  CHECK_FALSE(unscale_grads_and_check(buffers, 1024.0));
  CHECK(a.grad.to_vector<float>() == std::vector<float>{1.0f, -0.5f, 1.0f / 512});
  g[1] = std::numeric_limits<float>::infinity();
  CHECK(unscale_grads_and_check(buffers, 2.0));
  g[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK(unscale_grads_and_check(buffers, 2.0));
}
