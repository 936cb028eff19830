// ParamBuffers: parameter views alias the flat buffers; padding stays zero; lookup by name.
#include <doctest/doctest.h>

#include "engine/optim/param_buffers.h"

using namespace me;

TEST_CASE("parameter value and grad views alias the flat buffers") {
  Parameter w{"w", {2, 3}, ParamInit::ones()};
  Parameter b{"b", {3}, ParamInit::zeros(), false};
  ParamBuffers buffers({&w, &b}, Device::cpu());
  // Backward order: b at 0, w at 64; one bucket padded to 128.
  CHECK(buffers.layout().total_elems == 128);
  CHECK(buffers.params().numel() == 128);
  CHECK(buffers.grads().numel() == 128);
  CHECK(buffers.params().dtype() == DType::kF32);
  CHECK(w.value.shape() == Shape{2, 3});
  CHECK(w.value.offset() == 64);
  CHECK(w.value.storage() == buffers.params().storage());
  CHECK(w.grad.storage() == buffers.grads().storage());

  w.value.data<float>()[4] = 7.0f;  // element (1, 1)
  CHECK(buffers.params().data<float>()[64 + 4] == 7.0f);
  buffers.params().data<float>()[2] = -3.0f;
  CHECK(b.value.data<float>()[2] == -3.0f);
  b.grad.data<float>()[0] = 5.0f;
  CHECK(buffers.grads().data<float>()[0] == 5.0f);

  initialize_parameter(w, 1);
  initialize_parameter(b, 1);
  const std::vector<float> params = buffers.params().to_vector<float>();
  for (int64_t i = 0; i < 128; ++i) {
    const bool in_w = i >= 64 && i < 70;
    CHECK(params[i] == (in_w ? 1.0f : 0.0f));  // b is zeros; everything else is padding
  }

  buffers.zero_grads();
  CHECK(buffers.grads().to_vector<float>() == std::vector<float>(128, 0.0f));
}

TEST_CASE("find and slot by name, and parameters() in forward order") {
  Parameter w{"layer.weight", {4}};
  Parameter b{"layer.bias", {4}};
  ParamBuffers buffers({&w, &b}, Device::cpu());
  CHECK(buffers.parameters() == std::vector<Parameter*>{&w, &b});
  CHECK(buffers.find("layer.weight") == &w);
  CHECK(buffers.find("layer.bias") == &b);
  CHECK(buffers.find("layer.gamma") == nullptr);
  REQUIRE(buffers.slot("layer.weight") != nullptr);
  CHECK(buffers.slot("layer.weight")->offset == 64);
  CHECK(buffers.slot("missing") == nullptr);
}

TEST_CASE("duplicate parameter names are a bug") {
  Parameter a{"same", {2}};
  Parameter b{"same", {2}};
  CHECK_THROWS_AS(ParamBuffers({&a, &b}, Device::cpu()), InternalError);
}
