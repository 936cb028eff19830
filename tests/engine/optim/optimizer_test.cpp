// Adam and SGD over the flat buffers against torch.optim.AdamW / torch.optim.SGD trajectories
// (tests/data/optim/optimizer_steps.json, from scripts/fixtures/make_optim_step_fixture.py).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/optim/optimizer.h"
#include "engine/recipe/recipe.h"

using namespace me;
using nlohmann::json;

namespace {

json load_fixture() {
  std::ifstream in(std::string(ME_TEST_DATA_DIR) + "/optim/optimizer_steps.json");
  REQUIRE(in.good());
  return json::parse(in);
}

void write(Tensor& t, const std::vector<float>& values) {
  REQUIRE(static_cast<int64_t>(values.size()) == t.numel());
  std::copy(values.begin(), values.end(), t.data<float>());
}

void check_close(const Tensor& t, const json& expected, const char* what) {
  const std::vector<float> got = t.to_vector<float>();
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(what);
    CAPTURE(i);
    const double want = expected[i].get<double>();
    CHECK(std::abs(got[i] - want) <= 1e-6 + 1e-5 * std::abs(want));
  }
}

// "w" (2, 3) with weight decay, "b" (3) without: backward order puts b at 0 and w at 64.
struct TwoParams {
  Parameter w{"w", {2, 3}};
  Parameter b{"b", {3}, ParamInit::zeros(), false};
  ParamBuffers buffers{{&w, &b}, Device::cpu()};
};

Recipe optimizer_recipe(const std::string& name, const json& fixture) {
  Recipe r{};
  r.optimizer.optimizer = name;
  if (name == "adam") {
    r.optimizer.adam_beta1 = fixture["adamw"]["beta1"].get<double>();
    r.optimizer.adam_beta2 = fixture["adamw"]["beta2"].get<double>();
    r.optimizer.adam_eps = fixture["adamw"]["eps"].get<double>();
  } else {
    r.optimizer.sgd_momentum = fixture["sgd"]["momentum"].get<double>();
  }
  return r;
}

// Runs the fixture's three steps and compares params and every state tensor after each one.
void run_trajectory(const std::string& name, const json& fixture, const json& reference) {
  TwoParams p;
  auto optimizer =
      OptimizerRegistry::instance().create(name, p.buffers, optimizer_recipe(name, fixture), {});
  write(p.w.value, reference["initial"]["w"].get<std::vector<float>>());
  write(p.b.value, reference["initial"]["b"].get<std::vector<float>>());
  const double wd = fixture["weight_decay"].get<double>();
  for (size_t t = 0; t < fixture["lrs"].size(); ++t) {
    CAPTURE(t);
    write(p.w.grad, reference["grads"][t]["w"].get<std::vector<float>>());
    write(p.b.grad, reference["grads"][t]["b"].get<std::vector<float>>());
    optimizer->step(fixture["lrs"][t].get<double>(), wd);
    CHECK(optimizer->step_count() == static_cast<int64_t>(t + 1));
    const json& expected = reference["steps"][t];
    check_close(p.w.value, expected["w"], "w");
    check_close(p.b.value, expected["b"], "b");
    for (auto& [state_name, state] : optimizer->state_buffers()) {
      const ParamSlot& w_slot = *p.buffers.slot("w");
      const ParamSlot& b_slot = *p.buffers.slot("b");
      check_close(state->view(w_slot.offset, {6}), expected[state_name]["w"], state_name.c_str());
      check_close(state->view(b_slot.offset, {3}), expected[state_name]["b"], state_name.c_str());
    }
  }
  // Padding (between b and w, and after w) stays zero in the parameters and every state.
  std::vector<Tensor*> flat{&p.buffers.params()};
  for (auto& [state_name, state] : optimizer->state_buffers()) flat.push_back(state);
  for (Tensor* t : flat) {
    const std::vector<float> values = t->to_vector<float>();
    for (int64_t i = 0; i < t->numel(); ++i) {
      if ((i >= 0 && i < 3) || (i >= 64 && i < 70)) continue;
      CHECK(values[i] == 0.0f);
    }
  }
}

}  // namespace

TEST_CASE("update runs merge adjacent slots with the same weight-decay flag") {
  // Forward w1 (7, wd), w2 (10, wd), n (5, no wd): backward n [0,5), w2 [64,74), w1 [128,135).
  Parameter w1{"w1", {7}};
  Parameter w2{"w2", {10}};
  Parameter n{"n", {5}, ParamInit::zeros(), false};
  const ParamLayout layout = ParamLayout::plan({&w1, &w2, &n}, {});
  const std::vector<UpdateRun> runs = update_runs(layout);
  REQUIRE(runs.size() == 2);
  CHECK((runs[0].begin == 0 && runs[0].end == 5 && !runs[0].weight_decay));
  CHECK((runs[1].begin == 64 && runs[1].end == 135 && runs[1].weight_decay));
}

TEST_CASE("adam matches torch.optim.AdamW over three steps, with and without weight decay") {
  const json fixture = load_fixture();
  run_trajectory("adam", fixture, fixture["adamw"]);
}

TEST_CASE("sgd matches torch.optim.SGD with momentum over three steps") {
  const json fixture = load_fixture();
  run_trajectory("sgd", fixture, fixture["sgd"]);
}

TEST_CASE("adam's first step by hand: bias correction makes it lr * g / (|g| + eps)") {
  // Step 1: m_hat = g, v_hat = g^2, so p1 = p0 (1 - lr wd) - lr g / (|g| + eps).
  const json fixture = load_fixture();
  TwoParams p;
  auto adam =
      OptimizerRegistry::instance().create("adam", p.buffers, optimizer_recipe("adam", fixture),
                                           {});
  write(p.w.value, {1, 2, 3, 4, 5, 6});
  write(p.b.value, {1, 2, 3});
  write(p.w.grad, {0.5f, -2, 0, 1, 1, 1});
  write(p.b.grad, {-1, 0.25f, 4});
  adam->step(0.1, 0.5);
  const std::vector<float> w = p.w.value.to_vector<float>();
  const std::vector<float> b = p.b.value.to_vector<float>();
  // w (wd 0.5): p0 * 0.95 - 0.1 * sign(g); g = 0 moves only by decay.
  CHECK(w[0] == doctest::Approx(0.95 - 0.1));
  CHECK(w[1] == doctest::Approx(1.9 + 0.1));
  CHECK(w[2] == doctest::Approx(2.85));
  CHECK(w[5] == doctest::Approx(5.7 - 0.1));
  // b (no wd): p0 - 0.1 * sign(g).
  CHECK(b[0] == doctest::Approx(1.1));
  CHECK(b[1] == doctest::Approx(1.9));
  CHECK(b[2] == doctest::Approx(2.9));
}

TEST_CASE("state buffers are named for checkpoints and step_count can be restored") {
  const json fixture = load_fixture();
  TwoParams p;
  auto adam =
      OptimizerRegistry::instance().create("adam", p.buffers, optimizer_recipe("adam", fixture),
                                           {});
  auto states = adam->state_buffers();
  REQUIRE(states.size() == 2);
  CHECK(states[0].first == "exp_avg");
  CHECK(states[1].first == "exp_avg_sq");
  CHECK(states[0].second->numel() == p.buffers.layout().total_elems);
  adam->set_step_count(41);
  adam->step(0.0, 0.0);
  CHECK(adam->step_count() == 42);
  auto sgd =
      OptimizerRegistry::instance().create("sgd", p.buffers, optimizer_recipe("sgd", fixture), {});
  REQUIRE(sgd->state_buffers().size() == 1);
  CHECK(sgd->state_buffers()[0].first == "momentum_buffer");
  CHECK_THROWS_WITH_AS(OptimizerRegistry::instance().create("adamw", p.buffers, Recipe{}, {}),
                       doctest::Contains("did you mean 'adam'"), Error);
}

TEST_CASE("adam hyper-parameters out of range are errors naming the field") {
  const json fixture = load_fixture();
  TwoParams p;
  Recipe r = optimizer_recipe("adam", fixture);
  r.optimizer.adam_beta2 = 1.0;
  CHECK_THROWS_WITH_AS(OptimizerRegistry::instance().create("adam", p.buffers, r, OptimizerShard{}),
                       doctest::Contains("optimizer.adam_beta2"), Error);
}
