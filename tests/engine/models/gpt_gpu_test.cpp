// The whole GPT on CUDA against the CPU: with parameters in device ParamBuffers (as the trainer
// holds them), the same values and batch, dropout on (Philox masks shared by both devices), the
// forward loss and every parameter's gradient agree to f32 tolerance, over two micro-batches
// accumulating into the gradients, tied and untied, with and without grouped-query attention; and
// the same model computing in bf16 (fp32 main weights and gradients) within bf16's error.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "engine/models/gpt.h"
#include "engine/optim/param_buffers.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"
#include "tests/support/lm_loss.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kVocab = 61, kPadded = 64;
constexpr int64_t kB = 3, kT = 13;

Batch make_batch(uint64_t seed) { return test::RandomLmBatch{kT, kVocab, 7, 3}.rows(seed, 0, kB); }

struct Run {
  std::unique_ptr<Model> model;
  std::unique_ptr<ParamBuffers> buffers;
  std::vector<double> losses;
};

// Two training micro-batches on `device`, parameters copied from `values` (a host flat buffer),
// the modules computing in `model_dtype`.
Run train_two_microbatches(const Recipe& recipe, const Tensor& values, Device device,
                           DType model_dtype = DType::kF32) {
  Run run;
  run.model = ModelRegistry::instance().create("gpt", recipe, kPadded);
  run.buffers = std::make_unique<ParamBuffers>(run.model->parameters(), device,
                                               ParamLayoutOptions{}, model_dtype);
  run.buffers->params().copy_from(values);
  run.buffers->sync_model_params();
  for (uint64_t m = 0; m < 2; ++m) {
    MicroBatchContext ctx(true, 1234, 7, m);
    const test::LmLoss sums = test::lm_forward(*run.model, make_batch(10 + m).to(device), ctx);
    run.losses.push_back(sums.loss_sum / sums.num_tokens);
    test::lm_backward(*run.model, 1.0 / sums.num_tokens, ctx);
  }
  return run;
}

TEST_CASE("gpt forward loss and every parameter gradient on cuda equal the cpu ones") {
  const Device g = test::gpu_device();
  for (int variant = 0; variant < 3; ++variant) {
    test::TinyGpt tiny;
    tiny.hidden_size = 48;
    tiny.num_attention_heads = 4;
    tiny.num_query_groups = variant == 2 ? 2 : 4;
    tiny.ffn_hidden_size = 100;
    tiny.untie = variant == 1;
    tiny.hidden_dropout = 0.1;
    tiny.attention_dropout = 0.1;
    const Recipe recipe = test::tiny_gpt_recipe(tiny);
    // Random values everywhere (biases and norms too), set on a host model and copied to both.
    auto host_model = ModelRegistry::instance().create("gpt", recipe, kPadded);
    ParamBuffers host_buffers(host_model->parameters(), Device::cpu());
    test::randomize_values(host_model->parameters(), 0.2, 42 + variant);
    const Tensor values = host_buffers.params().clone();

    const Run cpu = train_two_microbatches(recipe, values, Device::cpu());
    const Run gpu = train_two_microbatches(recipe, values, g);
    for (size_t m = 0; m < cpu.losses.size(); ++m) {
      CHECK_MESSAGE(gpu.losses[m] == doctest::Approx(cpu.losses[m]).epsilon(1e-5), "variant ",
                    variant, " micro-batch ", m);
    }
    const auto& cpu_params = cpu.model->parameters();
    const auto& gpu_params = gpu.model->parameters();
    REQUIRE(cpu_params.size() == gpu_params.size());
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      test::expect_gpu_close(gpu_params[i]->grad, cpu_params[i]->grad, test::kAbsTol, test::kRelTol,
                             fmt::format("variant {} grad of {}", variant, cpu_params[i]->name));
    }
  }
}

// ||a - b|| / ||b|| over all elements, in f64 on the host.
double relative_error(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to(Device::cpu()).cast(DType::kF64).to_vector<double>();
  const std::vector<double> y = b.to(Device::cpu()).cast(DType::kF64).to_vector<double>();
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff += (x[i] - y[i]) * (x[i] - y[i]);
    norm += y[i] * y[i];
  }
  return std::sqrt(diff / norm);
}

TEST_CASE("gpt computing in bf16 on cuda tracks the f32 cpu loss and gradients") {
  const Device g = test::gpu_device();
  for (int variant = 0; variant < 3; ++variant) {
    test::TinyGpt tiny;
    tiny.hidden_size = 64;
    tiny.num_attention_heads = 4;
    tiny.num_query_groups = variant == 2 ? 2 : 4;
    tiny.ffn_hidden_size = 128;
    tiny.untie = variant == 1;
    const Recipe recipe = test::tiny_gpt_recipe(tiny);
    auto host_model = ModelRegistry::instance().create("gpt", recipe, kPadded);
    ParamBuffers host_buffers(host_model->parameters(), Device::cpu());
    test::randomize_values(host_model->parameters(), 0.2, 7 + variant);
    const Tensor values = host_buffers.params().clone();
    const Run cpu = train_two_microbatches(recipe, values, Device::cpu());
    const Run gpu = train_two_microbatches(recipe, values, g, DType::kBF16);
    CHECK(gpu.buffers->parameters().front()->value.dtype() == DType::kBF16);
    CHECK(gpu.buffers->grads().dtype() == DType::kF32);
    for (size_t m = 0; m < cpu.losses.size(); ++m) {
      // bf16 keeps 8 significant bits: 1% on a loss of ~4 is ~10 ulps of the logits' rounding.
      CHECK_MESSAGE(gpu.losses[m] == doctest::Approx(cpu.losses[m]).epsilon(1e-2), "variant ",
                    variant, " micro-batch ", m);
    }
    const auto& cpu_params = cpu.model->parameters();
    const auto& gpu_params = gpu.model->parameters();
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      const double err = relative_error(gpu_params[i]->grad, cpu_params[i]->grad);
      CHECK_MESSAGE(err < 5e-2, "variant ", variant, " grad of ", cpu_params[i]->name,
                    ": relative error ", err);
    }
  }
}

TEST_CASE("gpt on cuda gives bitwise identical gradients twice") {
  const Device g = test::gpu_device();
  test::TinyGpt tiny;
  tiny.hidden_dropout = 0.1;
  tiny.attention_dropout = 0.1;
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  auto host_model = ModelRegistry::instance().create("gpt", recipe, kPadded);
  ParamBuffers host_buffers(host_model->parameters(), Device::cpu());
  test::randomize_values(host_model->parameters(), 0.2, 5);
  const Tensor values = host_buffers.params().clone();
  const Run a = train_two_microbatches(recipe, values, g);
  const Run b = train_two_microbatches(recipe, values, g);
  CHECK(a.losses == b.losses);
  test::expect_gpu_bitwise(a.buffers->grads(), b.buffers->grads(), "gpt grads twice");
}

}  // namespace
}  // namespace me
