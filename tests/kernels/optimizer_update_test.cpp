// AdamW and SGD: three steps on a 3-element parameter against torch.optim trajectories
// (tests/data/kernels/optimizer_fixture.json from scripts/fixtures/make_optimizer_fixture.py),
// plus the first AdamW step worked by hand.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/optimizer_update.h"
#include "tests/support/grad_check.h"

using namespace me;
using me::test::expect_close;

namespace {

nlohmann::json load_fixture() {
  std::ifstream in(std::string(ME_TEST_DATA_DIR) + "/kernels/optimizer_fixture.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

Tensor vec(const nlohmann::json& j, DType dtype) {
  const auto v = j.get<std::vector<double>>();
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).cast(dtype);
}

}  // namespace

TEST_CASE("the first AdamW step matches the formula worked by hand") {
  // p = 0.5, g = 0.1, lr 0.01, wd 0.1, betas (0.9, 0.999), eps 1e-8, t = 1:
  // p = 0.5 (1 - 0.001) = 0.4995; m = 0.01, v = 1e-5; m/(1-0.9) = 0.1, sqrt(v/(1-0.999)) = 0.1;
  // p = 0.4995 - 0.01 * 0.1 / (0.1 + 1e-8) = 0.4995 - 0.0099999990000001 = 0.4895000009999999.
  Tensor p = Tensor::from_vector<double>({0.5}, {1});
  Tensor m = Tensor::zeros({1}, DType::kF64), v = m.clone();
  adamw_update(p, Tensor::from_vector<double>({0.1}, {1}), m, v, {0.01, 0.9, 0.999, 1e-8, 0.1, 1});
  CHECK(p.to_vector<double>()[0] == doctest::Approx(0.4895000009999999).epsilon(1e-14));
  CHECK(m.to_vector<double>()[0] == doctest::Approx(0.01).epsilon(1e-14));
  CHECK(v.to_vector<double>()[0] == doctest::Approx(1e-5).epsilon(1e-12));
}

TEST_CASE("adamw_update follows torch.optim.AdamW for three steps") {
  const nlohmann::json fx = load_fixture();
  const nlohmann::json& cfg = fx["adamw"];
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const double tol = dtype == DType::kF64 ? 1e-13 : 1e-6;
    Tensor p = vec(fx["param"], dtype);
    Tensor m = Tensor::zeros({3}, dtype), v = m.clone();
    for (int step = 1; step <= 3; ++step) {
      const AdamWStep s{cfg["lr"],  cfg["beta1"],        cfg["beta2"],
                        cfg["eps"], cfg["weight_decay"], step};
      adamw_update(p, vec(fx["grads"][step - 1], dtype), m, v, s);
      const nlohmann::json& expect = cfg["steps"][step - 1];
      const std::string what = fmt::format("adamw {} step {}", dtype_name(dtype), step);
      expect_close(p, vec(expect["param"], DType::kF64), tol, tol, what);
      expect_close(m, vec(expect["exp_avg"], DType::kF64), tol, tol, what);
      expect_close(v, vec(expect["exp_avg_sq"], DType::kF64), tol * 1e-3, tol, what);
    }
  }
}

TEST_CASE("sgd_update follows torch.optim.SGD with and without momentum") {
  const nlohmann::json fx = load_fixture();
  for (const char* name : {"sgd", "sgd_no_momentum"}) {
    const nlohmann::json& cfg = fx[name];
    const double momentum = cfg["momentum"];
    for (DType dtype : {DType::kF64, DType::kF32}) {
      const double tol = dtype == DType::kF64 ? 1e-14 : 1e-6;
      Tensor p = vec(fx["param"], dtype);
      Tensor buf = momentum == 0.0 ? Tensor() : Tensor::zeros({3}, dtype);
      for (int step = 1; step <= 3; ++step) {
        sgd_update(p, vec(fx["grads"][step - 1], dtype), buf, cfg["lr"], momentum,
                   cfg["weight_decay"], step == 1);
        const nlohmann::json& expect = cfg["steps"][step - 1];
        const std::string what = fmt::format("{} {} step {}", name, dtype_name(dtype), step);
        expect_close(p, vec(expect["param"], DType::kF64), tol, tol, what);
        if (momentum != 0.0) {
          expect_close(buf, vec(expect["momentum_buffer"], DType::kF64), tol, tol, what);
        }
      }
    }
  }
}

TEST_CASE("adamw_update_chunks equals per-range adamw_update and leaves gaps alone") {
  const std::vector<me::UpdateRange> ranges = {{0, 7, 3, true}, {9, 20, 12, false}};
  const me::Tensor p0 = me::test::random_tensor({20}, me::DType::kF32, 1);
  const me::Tensor g = me::test::random_tensor({20}, me::DType::kF32, 2, 0.1);
  me::Tensor p = p0.clone(), m = me::Tensor::zeros({23}, me::DType::kF32);
  me::Tensor v = me::Tensor::zeros({23}, me::DType::kF32);
  const me::AdamWStep step{1e-2, 0.9, 0.95, 1e-8, 0.1, 1};
  me::adamw_update_chunks(p, g, m, v, me::adamw_chunk_table(ranges, me::Device::cpu(), 4), step);
  me::Tensor expected = p0.clone(), em = me::Tensor::zeros({23}, me::DType::kF32);
  me::Tensor ev = me::Tensor::zeros({23}, me::DType::kF32);
  for (const me::UpdateRange& r : ranges) {
    const me::Shape shape{r.end - r.begin};
    me::Tensor pv = expected.view(r.begin, shape), mv = em.view(r.state_begin, shape);
    me::Tensor vv = ev.view(r.state_begin, shape);
    me::AdamWStep s = step;
    if (!r.weight_decay) s.weight_decay = 0.0;
    me::adamw_update(pv, g.view(r.begin, shape), mv, vv, s);
  }
  me::test::expect_bitwise_equal(p, expected, "params");
  me::test::expect_bitwise_equal(m, em, "exp_avg");
  me::test::expect_bitwise_equal(v, ev, "exp_avg_sq");
  CHECK(p.to_vector<float>()[7] == p0.to_vector<float>()[7]);  // the gap is not updated
  CHECK(p.to_vector<float>()[8] == p0.to_vector<float>()[8]);
}
