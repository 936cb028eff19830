// Global gradient norm and clipping (megatron-facts 2.5).
#include <doctest/doctest.h>

#include <cmath>

#include "engine/optim/grad_clip.h"
#include "kernels/elementwise.h"

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

TEST_CASE("clipping to 1 scales by 1 / (5 + 1e-6)") {
  ThreeFour g;
  clip_grads(g.buffers, 1.0, 5.0);  // the norm of (3, 4)
  const double coeff = 1.0 / (5.0 + 1e-6);
  CHECK(g.a.grad.data<float>()[0] == doctest::Approx(3.0 * coeff).epsilon(1e-7));
  CHECK(g.a.grad.data<float>()[1] == doctest::Approx(4.0 * coeff).epsilon(1e-7));
  CHECK(std::sqrt(sum_of_squares(g.buffers.grads())) == doctest::Approx(5.0 * coeff).epsilon(1e-7));
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
