// KV-cache generation with the model on CUDA against the same model on the CPU: greedy tokens
// equal and log-probs within 1e-4 (f32), on GPT- and Llama-shaped (RoPE, GQA) models, batched
// prompts of different lengths; and the cached path on CUDA equals full recompute on CUDA.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/inference/generator.h"
#include "engine/models/gpt.h"
#include "engine/optim/param_buffers.h"
#include "tests/support/gpu_parity.h"
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

TEST_CASE("cached generation on cuda equals the cpu and full recompute on cuda") {
  const Device g = test::gpu_device();
  for (int variant = 0; variant < 2; ++variant) {
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
    const Recipe recipe = test::tiny_gpt_recipe(tiny);
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
