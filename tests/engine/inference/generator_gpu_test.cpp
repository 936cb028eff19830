// KV-cache generation with the model on CUDA against the same model on the CPU: greedy tokens
// equal and log-probs within 1e-4 (f32), on GPT- and Llama-shaped (RoPE, GQA) models, batched
// prompts of different lengths; the cached path on CUDA equals full recompute on CUDA; and prompts
// of lengths 1, 4, 7 and 2 prefilled together with per-row lengths on CUDA give the CPU's logits
// and those of each prompt fed alone token by token on CUDA (f32 parity tolerance, same tokens).
#include <doctest/doctest.h>

#include <cmath>

#include "engine/inference/generator.h"
#include "engine/models/gpt.h"
#include "engine/optim/param_buffers.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"
#include "tests/support/incremental_runs.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kPadded = 128, kVocab = 120;

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<ParamBuffers> buffers;
};

Loaded load(const Recipe& recipe, const Tensor& values, Device device) {
  Loaded l;
  l.model = ModelRegistry::instance().create("gpt", recipe, kPadded);
  l.buffers = std::make_unique<ParamBuffers>(l.model->parameters(), device);
  l.buffers->params().copy_from(values);
  l.buffers->sync_model_params();
  return l;
}

std::vector<GenerationRequest> requests() {
  std::vector<GenerationRequest> out;
  for (int r = 0; r < 3; ++r) {
    GenerationRequest q;
    for (int i = 0; i < 3 + 4 * r; ++i) q.prompt.push_back((7 * r + 11 * i) % kVocab);
    q.tokens_to_generate = 10 + r;
    q.sampling.temperature = 0.0;
    q.prompt_logprobs = true;
    out.push_back(q);
  }
  return out;
}

void check_close(const std::vector<GenerationResult>& a, const std::vector<GenerationResult>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t r = 0; r < a.size(); ++r) {
    CHECK(a[r].tokens == b[r].tokens);
    REQUIRE(a[r].logprobs.size() == b[r].logprobs.size());
    for (size_t i = 0; i < a[r].logprobs.size(); ++i) {
      CHECK(std::abs(a[r].logprobs[i] - b[r].logprobs[i]) <= 1e-4);
    }
    REQUIRE(a[r].prompt_logprobs.size() == b[r].prompt_logprobs.size());
    for (size_t i = 0; i < a[r].prompt_logprobs.size(); ++i) {
      CHECK(std::abs(a[r].prompt_logprobs[i] - b[r].prompt_logprobs[i]) <= 1e-4);
    }
  }
}

// variant 0: GPT-shaped; 1: Llama-shaped (GQA, RoPE, RMSNorm, SwiGLU).
Recipe variant_recipe(int variant) {
  test::TinyGpt tiny;
  tiny.hidden_size = 64;
  tiny.max_position_embeddings = 64;
  if (variant == 1) {
    tiny.num_query_groups = 2;
    tiny.untie = true;
    tiny.add_bias_linear = false;
    tiny.position_embedding_type = "rope";
    tiny.normalization = "RMSNorm";
    tiny.swiglu = true;
  }
  return test::tiny_gpt_recipe(tiny);
}

void check_runs_close(const test::IncrementalRun& a, const test::IncrementalRun& b,
                      const std::string& what) {
  REQUIRE(a.logits.size() == b.logits.size());
  CHECK(a.lengths == b.lengths);
  for (size_t r = 0; r < a.logits.size(); ++r) {
    INFO(what << ", row " << r);
    CHECK(a.tokens[r] == b.tokens[r]);
    const int64_t n = static_cast<int64_t>(a.logits[r].size());
    REQUIRE(b.logits[r].size() == a.logits[r].size());
    test::expect_close(Tensor::from_vector(a.logits[r], {n}), Tensor::from_vector(b.logits[r], {n}),
                       test::kAbsTol, test::kRelTol, what);
  }
}

TEST_CASE("prompts of lengths 1, 4, 7, 2 prefilled together on cuda equal the cpu and each alone") {
  const Device g = test::gpu_device();
  const std::vector<std::vector<int32_t>> prompts = {
      {5}, {1, 2, 3, 4}, {30, 31, 8, 9, 10, 11, 12}, {119, 7}};
  const std::vector<int64_t> steps = {6, 6, 6, 2};
  for (int variant = 0; variant < 2; ++variant) {
    INFO("variant " << variant);
    const Recipe recipe = variant_recipe(variant);
    auto host = ModelRegistry::instance().create("gpt", recipe, kPadded);
    ParamBuffers host_buffers(host->parameters(), Device::cpu());
    test::randomize_values(host->parameters(), 0.3, 60 + variant);
    const Tensor values = host_buffers.params().clone();
    Loaded cpu = load(recipe, values, Device::cpu());
    Loaded gpu = load(recipe, values, g);
    CausalLm& on_gpu = *gpu.model->causal_lm();
    const auto together_gpu = test::prefill_together(on_gpu, prompts, steps, kVocab, 0);
    const auto together_cpu =
        test::prefill_together(*cpu.model->causal_lm(), prompts, steps, kVocab, 0);
    check_runs_close(together_gpu, together_cpu, "cuda vs cpu, prefilled together");
    check_runs_close(together_gpu, test::token_by_token(on_gpu, prompts, steps, kVocab),
                     "cuda: prefilled together vs token by token");
    CHECK(test::prefill_together(on_gpu, prompts, steps, kVocab, 77).logits == together_gpu.logits);
  }
}

TEST_CASE("cached generation on cuda equals the cpu and full recompute on cuda") {
  const Device g = test::gpu_device();
  for (int variant = 0; variant < 2; ++variant) {
    const Recipe recipe = variant_recipe(variant);
    auto host = ModelRegistry::instance().create("gpt", recipe, kPadded);
    ParamBuffers host_buffers(host->parameters(), Device::cpu());
    test::randomize_values(host->parameters(), 0.3, 50 + variant);
    const Tensor values = host_buffers.params().clone();
    GenerationSetup setup;
    setup.max_positions = 64;
    setup.vocab_size = kVocab;
    Loaded cpu = load(recipe, values, Device::cpu());
    Loaded gpu = load(recipe, values, g);
    INFO("variant " << variant);
    const auto on_cpu = generate(*cpu.model->causal_lm(), setup, requests());
    const auto on_gpu = generate(*gpu.model->causal_lm(), setup, requests());
    check_close(on_gpu, on_cpu);
    check_close(on_gpu, generate_recompute(*gpu.model->causal_lm(), setup, requests()));
  }
}

}  // namespace
}  // namespace me
