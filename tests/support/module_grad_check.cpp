// Sampled float64 gradient checks for modules; tolerances are grad_check.h's GradCheckOptions.
#include "tests/support/module_grad_check.h"

#include <doctest/doctest.h>

#include <string>

#include "engine/core/philox.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/thread_count.h"

namespace me::test {

void check_sampled_gradient(const std::function<double()>& loss, const Tensor& input,
                            const Tensor& analytic, int max_samples, std::string_view context,
                            const GradCheckOptions& options) {
  REQUIRE_MESSAGE((input.dtype() == DType::kF64 && analytic.dtype() == DType::kF64 &&
                   input.shape() == analytic.shape()),
                  context, ": input ", input.describe(), ", analytic ", analytic.describe());
  // Thousands of forwards of tiny tensors: extra threads only add barriers (and spin-waits that
  // crawl on a loaded machine); the analytic pass ran with the caller's thread count.
  const ScopedThreadCount one_thread(1);
  const int64_t n = input.numel();
  if (n <= max_samples) {
    check_gradient(loss, input, analytic, options, context);
    return;
  }
  const uint64_t stream = rng_stream(context);
  std::vector<double> picked, numeric;
  double* x = input.data<double>();
  const double* g = analytic.data<double>();
  for (int s = 0; s < max_samples; ++s) {
    const int64_t i =
        static_cast<int64_t>(philox4x32(7, stream, s).v[0] % static_cast<uint64_t>(n));
    const double saved = x[i];
    x[i] = saved + options.step;
    const double up = loss();
    x[i] = saved - options.step;
    const double down = loss();
    x[i] = saved;
    picked.push_back(g[i]);
    numeric.push_back((up - down) / (2.0 * options.step));
  }
  const Shape shape{max_samples};
  expect_close(Tensor::from_vector(picked, shape), Tensor::from_vector(numeric, shape),
               options.abs_tol, options.rel_tol, std::string(context) + " (sampled)");
}

void check_parameter_gradients(const std::vector<Parameter*>& params,
                               const std::function<double()>& loss, int max_samples) {
  for (Parameter* p : params) {
    check_sampled_gradient(loss, p->value, p->grad.clone(), max_samples, p->name);
  }
}

void check_layer_gradients(Layer& layer, const Shape& input_shape, uint64_t seed) {
  const auto params = layer.parameters();
  bind_standalone(params, DType::kF64, seed);
  randomize_values(params, 0.3, seed);
  const Tensor x = random_tensor(input_shape, DType::kF64, seed + 1);
  MicroBatchContext ctx(true, seed, 3, 1);
  const Tensor y = layer.forward(x, ctx);
  const Tensor w = random_tensor(y.shape(), DType::kF64, seed + 2);
  const Tensor dx = layer.backward(w, ctx);
  CHECK(ctx.empty());
  auto loss = [&] {
    MicroBatchContext scratch(true, seed, 3, 1);
    return weighted_sum(layer.forward(x, scratch), w);
  };
  check_sampled_gradient(loss, x, dx, 64, layer.name() + " input");
  check_parameter_gradients(params, loss);
}

}  // namespace me::test
