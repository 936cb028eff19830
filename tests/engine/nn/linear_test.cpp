// Linear: hand-computed forward, f64 gradient check, accumulation across micro-batches.
#include <doctest/doctest.h>

#include "engine/nn/linear.h"
#include "tests/support/module_grad_check.h"
#include "tests/support/standalone_parameters.h"

namespace me {
namespace {

TEST_CASE("linear forward computes x W^T + b") {
  Linear lin("fc", 2, 3, true, ParamInit::normal(0.02));
  test::bind_standalone(lin.parameters(), DType::kF64, 1);
  Parameter& w = *lin.parameters()[0];
  Parameter& b = *lin.parameters()[1];
  CHECK(w.name == "fc.weight");
  CHECK(w.shape == Shape{3, 2});
  CHECK(w.weight_decay);
  CHECK(b.name == "fc.bias");
  CHECK_FALSE(b.weight_decay);
  w.value.copy_from(Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2}));
  b.value.copy_from(Tensor::from_vector<double>({0.5, -1, 2}, {3}));
  MicroBatchContext ctx(false, 0, 0, 0);
  const Tensor y = lin.forward(Tensor::from_vector<double>({1, -1, 2, 0.5}, {1, 2, 2}), ctx);
  CHECK(y.shape() == Shape{1, 2, 3});
  // row (1, -1): (1-2, 3-4, 5-6) + b; row (2, 0.5): (2+1, 6+2, 10+3) + b
  CHECK(y.to_vector<double>() == std::vector<double>{-0.5, -2, 1, 3.5, 7, 15});
  CHECK(ctx.empty());
}

TEST_CASE("linear gradients match finite differences with and without bias") {
  for (bool bias : {true, false}) {
    CAPTURE(bias);
    Linear lin("fc", 5, 4, bias, ParamInit::normal(0.5));
    const auto params = lin.parameters();
    CHECK(params.size() == (bias ? 2u : 1u));
    test::bind_standalone(params, DType::kF64, 11);
    test::randomize_values(params, 0.5, 11);
    const Tensor x = test::random_tensor({2, 3, 5}, DType::kF64, 12);
    const Tensor r = test::random_tensor({2, 3, 4}, DType::kF64, 13);
    MicroBatchContext ctx(true, 1, 0, 0);
    lin.forward(x, ctx);
    const Tensor dx = lin.backward(r, ctx);
    auto loss = [&] {
      MicroBatchContext scratch(true, 1, 0, 0);
      return test::weighted_sum(lin.forward(x, scratch), r);
    };
    test::check_gradient(loss, x, dx, {}, "linear dx");
    test::check_parameter_gradients(params, loss);
  }
}

TEST_CASE("linear backward accumulates parameter gradients across micro-batches") {
  Linear lin("fc", 3, 2, true, ParamInit::normal(0.5));
  const auto params = lin.parameters();
  test::bind_standalone(params, DType::kF64, 5);
  const Tensor x1 = test::random_tensor({4, 3}, DType::kF64, 1);
  const Tensor x2 = test::random_tensor({4, 3}, DType::kF64, 2);
  const Tensor r1 = test::random_tensor({4, 2}, DType::kF64, 3);
  const Tensor r2 = test::random_tensor({4, 2}, DType::kF64, 4);
  std::vector<std::vector<double>> single;
  for (int mb = 0; mb < 2; ++mb) {
    test::zero_grads(params);
    MicroBatchContext ctx(true, 0, 0, mb);
    lin.forward(mb ? x2 : x1, ctx);
    lin.backward(mb ? r2 : r1, ctx);
    for (Parameter* p : params) single.push_back(p->grad.to_vector<double>());
  }
  test::zero_grads(params);
  MicroBatchContext c1(true, 0, 0, 0), c2(true, 0, 0, 1);
  lin.forward(x1, c1);
  lin.forward(x2, c2);  // two micro-batches in flight
  lin.backward(r2, c2);
  lin.backward(r1, c1);
  for (size_t i = 0; i < params.size(); ++i) {
    const auto acc = params[i]->grad.to_vector<double>();
    for (size_t j = 0; j < acc.size(); ++j) {
      CHECK(acc[j] == doctest::Approx(single[i][j] + single[i + params.size()][j]).epsilon(1e-12));
    }
  }
}

}  // namespace
}  // namespace me
