// Global gradient norm and clipping (megatron-facts 2.5).
#include <doctest/doctest.h>

#include "engine/optim/grad_clip.h"

using namespace me;

namespace {

struct ThreeFour {
  Parameter a{"a", {2}};
  Parameter z{"z", {3}};
  ParamBuffers buffers{{&a, &z}, Device::cpu()};
  ThreeFour() {
    a.grad.data<float>()[0] = 3.0f;
    a.grad.data<float>()[1] = 4.0f;
  }
};

}  // namespace

TEST_CASE("the norm of gradients (3, 4) and zeros is 5") {
  ThreeFour g;
  CHECK(grad_sum_of_squares(g.buffers) == 25.0);
  CHECK(grad_norm(g.buffers) == 5.0);
}

TEST_CASE("clipping to 1 scales by 1 / (5 + 1e-6)") {
  ThreeFour g;
  clip_grads(g.buffers, 1.0, grad_norm(g.buffers));
  const double coeff = 1.0 / (5.0 + 1e-6);
  CHECK(g.a.grad.data<float>()[0] == doctest::Approx(3.0 * coeff).epsilon(1e-7));
  CHECK(g.a.grad.data<float>()[1] == doctest::Approx(4.0 * coeff).epsilon(1e-7));
  CHECK(grad_norm(g.buffers) == doctest::Approx(5.0 * coeff).epsilon(1e-7));
  CHECK(g.z.grad.to_vector<float>() == std::vector<float>{0, 0, 0});
}

TEST_CASE("no scaling when the norm is under the clip, or when clipping is off") {
  ThreeFour g;
  clip_grads(g.buffers, 10.0, 5.0);
  CHECK(g.a.grad.to_vector<float>() == std::vector<float>{3, 4});
  clip_grads(g.buffers, 5.0, 5.0);  // coeff = 5 / 5.000001 < 1: scales, barely
  CHECK(g.a.grad.data<float>()[0] == doctest::Approx(3.0 * 5.0 / 5.000001).epsilon(1e-7));
  clip_grads(g.buffers, 0.0, 5.0);
  CHECK(g.a.grad.data<float>()[0] == doctest::Approx(3.0 * 5.0 / 5.000001).epsilon(1e-7));
}
