// KV-cache generation against full re-computation on random gpt_tiny-shaped and Llama-shaped
// (RoPE, RMSNorm, SwiGLU, GQA) models: same tokens, log-probs within 1e-5, batched equal to one by
// one; prompts of different lengths prefilled together with per-row lengths against each fed
// alone token by token (logits within 1e-5 + 1e-4 relative: summation order only; same greedy
// tokens; padding never read); then
// stop tokens, stop strings, zero new tokens, streaming and request checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/inference/generator.h"
#include "engine/models/gpt.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"
#include "tests/support/incremental_runs.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kPaddedVocab = 64;
constexpr int64_t kVocab = 60;  // real vocabulary: rows 60..63 are padding, never sampled

test::TinyGpt tiny_gpt() {
  test::TinyGpt t;
  t.max_position_embeddings = 32;
  return t;
}

test::TinyGpt tiny_llama() {
  test::TinyGpt t = tiny_gpt();
  t.num_query_groups = 2;  // GQA: 4 heads share 2 key/value groups
  t.ffn_hidden_size = 20;
  t.untie = true;
  t.add_bias_linear = false;
  t.position_embedding_type = "rope";
  t.normalization = "RMSNorm";
  t.swiglu = true;
  return t;
}

std::unique_ptr<GptModel> random_model(const test::TinyGpt& tiny, uint64_t seed) {
  auto model = std::make_unique<GptModel>(test::tiny_gpt_recipe(tiny), kPaddedVocab);
  test::bind_standalone(model->parameters(), DType::kF32, seed);
  test::randomize_values(model->parameters(), 0.5, seed);  // peaked, varied distributions
  return model;
}

GenerationSetup setup() {
  GenerationSetup s;
  s.max_positions = 32;
  s.vocab_size = kVocab;
  s.detokenize = [](const std::vector<int32_t>& ids) {
    std::string text;
    for (const int32_t id : ids) text += "<" + std::to_string(id) + ">";
    return text;
  };
  return s;
}

GenerationRequest request(std::vector<int32_t> prompt, int64_t n, double temperature, int64_t top_k,
                          double top_p, uint64_t seed) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.tokens_to_generate = n;
  r.sampling = {temperature, top_k, top_p, seed};
  r.prompt_logprobs = true;
  return r;
}

// Prompts of different lengths; greedy, temperature + top-k, temperature + top-p, plain sampling.
std::vector<GenerationRequest> mixed_requests() {
  return {request({5, 17, 42}, 9, 0.0, 0, 0.0, 1),
          request({1, 2, 3, 4, 5, 6, 7}, 5, 0.8, 5, 0.0, 7),
          request({30, 31, 8, 9, 10}, 12, 1.3, 0, 0.9, 3), request({59}, 7, 1.0, 0, 0.0, 99)};
}

void check_same(const GenerationResult& a, const GenerationResult& b, const std::string& what) {
  INFO(what);
  CHECK(a.tokens == b.tokens);
  CHECK(a.stopped == b.stopped);
  REQUIRE(a.logprobs.size() == b.logprobs.size());
  for (size_t i = 0; i < a.logprobs.size(); ++i) {
    CHECK(std::abs(a.logprobs[i] - b.logprobs[i]) <= 1e-5);
  }
  REQUIRE(a.prompt_logprobs.size() == b.prompt_logprobs.size());
  for (size_t i = 0; i < a.prompt_logprobs.size(); ++i) {
    CHECK(std::abs(a.prompt_logprobs[i] - b.prompt_logprobs[i]) <= 1e-5);
  }
}

void check_cached_equals_recompute(const test::TinyGpt& tiny, uint64_t seed) {
  auto model = random_model(tiny, seed);
  const auto requests = mixed_requests();
  const auto cached = generate(*model, setup(), requests);
  const auto reference = generate_recompute(*model, setup(), requests);
  REQUIRE(cached.size() == requests.size());
  for (size_t r = 0; r < requests.size(); ++r) {
    check_same(cached[r], reference[r], "row " + std::to_string(r) + " cached vs recompute");
    CHECK(cached[r].tokens.size() == static_cast<size_t>(requests[r].tokens_to_generate));
    CHECK(cached[r].prompt_logprobs.size() == requests[r].prompt.size() - 1);
    for (const int32_t t : cached[r].tokens) CHECK(t < kVocab);
    for (const float lp : cached[r].logprobs) CHECK(lp < 0.0f);
    const auto alone = generate(*model, setup(), {requests[r]});
    check_same(cached[r], alone[0], "row " + std::to_string(r) + " batched vs alone");
  }
  // Greedy takes the likeliest token; sampled rows record the likeliest beside what they drew.
  for (size_t i = 0; i < cached[0].tokens.size(); ++i) {
    CHECK(cached[0].top[i].token == cached[0].tokens[i]);
    CHECK(cached[0].top[i].logprob == cached[0].logprobs[i]);
  }
  for (size_t r = 1; r < cached.size(); ++r) {
    for (size_t i = 0; i < cached[r].tokens.size(); ++i) {
      CHECK(cached[r].top[i].logprob >= cached[r].logprobs[i]);
    }
    REQUIRE(cached[r].prompt_top.size() == cached[r].prompt_logprobs.size());
    for (size_t i = 0; i < cached[r].prompt_top.size(); ++i) {
      CHECK(cached[r].prompt_top[i].logprob >= cached[r].prompt_logprobs[i]);
      CHECK(cached[r].prompt_top[i].token == reference[r].prompt_top[i].token);
    }
  }
}

TEST_CASE("cached generation equals full recompute on a gpt_tiny-shaped model") {
  check_cached_equals_recompute(tiny_gpt(), 5);
}

TEST_CASE("cached generation equals full recompute on a llama-shaped model with GQA and RoPE") {
  check_cached_equals_recompute(tiny_llama(), 6);
}

// Prompts of lengths 1, 4, 7 and 2; the last row stops after 2 greedy steps (then takes steps of
// zero tokens), the others go on for 5.
void check_prefill_with_row_lengths(const test::TinyGpt& tiny, uint64_t seed) {
  auto model = random_model(tiny, seed);
  const std::vector<std::vector<int32_t>> prompts = {
      {5}, {1, 2, 3, 4}, {30, 31, 8, 9, 10, 11, 12}, {59, 7}};
  const std::vector<int64_t> steps = {5, 5, 5, 2};
  const auto together = test::prefill_together(*model, prompts, steps, kVocab, 0);
  const auto alone = test::token_by_token(*model, prompts, steps, kVocab);
  CHECK(together.lengths == std::vector<int64_t>{6, 9, 12, 4});
  CHECK(alone.lengths == together.lengths);
  for (size_t r = 0; r < prompts.size(); ++r) {
    INFO("row " << r);
    CHECK(together.tokens[r] == alone.tokens[r]);
    const int64_t n = together.lengths[r] * kPaddedVocab;
    REQUIRE(together.logits[r].size() == static_cast<size_t>(n));
    test::expect_close(Tensor::from_vector(together.logits[r], {n}),
                       Tensor::from_vector(alone.logits[r], {n}), test::kAbsTol, test::kRelTol,
                       "prefilled together vs token by token");
  }
  // Padding is never attended to or written: other padding tokens change no real logit.
  const auto other_padding = test::prefill_together(*model, prompts, steps, kVocab, 41);
  CHECK(other_padding.logits == together.logits);
}

TEST_CASE("prompts of lengths 1, 4, 7, 2 prefilled together equal each alone, token by token") {
  check_prefill_with_row_lengths(tiny_gpt(), 12);
  check_prefill_with_row_lengths(tiny_llama(), 13);
}

TEST_CASE("the inference state refuses steps past its capacity or of the wrong shape") {
  auto model = random_model(tiny_gpt(), 14);
  CHECK_THROWS_WITH_AS(model->make_inference_state(2, 33),
                       doctest::Contains("max_position_embeddings"), Error);
  InferenceState state = model->make_inference_state(2, 4);
  const Tensor three = Tensor::from_vector<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK_THROWS_WITH_AS(model->logits(three, std::vector<int64_t>{4, 1}, state),
                       doctest::Contains("step_lengths"), Error);
  CHECK_THROWS_WITH_AS(model->logits(three, std::vector<int64_t>{1}, state),
                       doctest::Contains("step_lengths"), Error);
  model->logits(three, std::vector<int64_t>{3, 1}, state);
  CHECK(state.lengths() == std::vector<int64_t>{3, 1});
  CHECK_THROWS_WITH_AS(model->logits(three, std::vector<int64_t>{2, 0}, state),
                       doctest::Contains("row 0 would hold 5 tokens; the state holds 4"), Error);
}

TEST_CASE("a seed reproduces a sample and another seed changes it") {
  auto model = random_model(tiny_llama(), 8);
  const auto a = generate(*model, setup(), {request({3, 4}, 20, 1.0, 0, 0.0, 11)});
  const auto b = generate(*model, setup(), {request({3, 4}, 20, 1.0, 0, 0.0, 11)});
  const auto c = generate(*model, setup(), {request({3, 4}, 20, 1.0, 0, 0.0, 12)});
  CHECK(a[0].tokens == b[0].tokens);
  CHECK(a[0].tokens != c[0].tokens);
}

TEST_CASE("stop tokens and stop strings end a row early and only that row") {
  auto model = random_model(tiny_gpt(), 9);
  const auto free_run = generate(*model, setup(), {request({7, 8, 9}, 8, 0.0, 0, 0.0, 1)})[0];
  REQUIRE(free_run.tokens.size() == 8);
  GenerationRequest by_token = request({7, 8, 9}, 8, 0.0, 0, 0.0, 1);
  by_token.stop_tokens = {free_run.tokens[3]};
  GenerationRequest by_string = request({7, 8, 9}, 8, 0.0, 0, 0.0, 1);
  by_string.stop_strings = {"<" + std::to_string(free_run.tokens[2]) + ">"};
  GenerationRequest plain = request({7, 8, 9, 10}, 6, 0.0, 0, 0.0, 1);
  const auto out = generate(*model, setup(), {by_token, by_string, plain});
  // The stop token is not emitted; the row holds what came before its first occurrence.
  const auto first = std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[3]);
  CHECK(out[0].tokens == std::vector<int32_t>(free_run.tokens.begin(), first));
  CHECK(out[0].stopped);
  // A stop string keeps the token that completes it.
  const auto hit = std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[2]);
  CHECK(out[1].tokens == std::vector<int32_t>(free_run.tokens.begin(), hit + 1));
  CHECK(out[1].stopped);
  CHECK(out[2].tokens.size() == 6);
  CHECK_FALSE(out[2].stopped);
}

TEST_CASE("zero new tokens scores only the prompt and streaming reports every token") {
  auto model = random_model(tiny_gpt(), 10);
  std::vector<std::vector<int32_t>> streamed(2);
  GenerationSetup s = setup();
  s.on_token = [&](size_t row, int32_t token, float) { streamed[row].push_back(token); };
  const auto out = generate(
      *model, s, {request({1, 2, 3, 4}, 0, 0.0, 0, 0.0, 1), request({5}, 4, 0.0, 0, 0, 1)});
  CHECK(out[0].tokens.empty());
  CHECK(out[0].prompt_logprobs.size() == 3);
  CHECK(streamed[0].empty());
  CHECK(streamed[1] == out[1].tokens);
  CHECK(out[1].prompt_logprobs.empty());
}

TEST_CASE("requests beyond the context or with bad tokens are refused naming the field") {
  auto model = random_model(tiny_gpt(), 11);
  auto where = [&](const GenerationRequest& r) {
    try {
      generate(*model, setup(), {r});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(where(request(std::vector<int32_t>(30, 1), 3, 0, 0, 0, 1)).find("tokens_to_generate") !=
        std::string::npos);
  CHECK(where(request(std::vector<int32_t>(40, 1), 0, 0, 0, 0, 1)).find("prompt") !=
        std::string::npos);
  CHECK(where(request({}, 3, 0, 0, 0, 1)).find("prompt") != std::string::npos);
  CHECK(where(request({61}, 3, 0, 0, 0, 1)).find("vocabulary") != std::string::npos);
  CHECK(where(request({1}, -1, 0, 0, 0, 1)).find("tokens_to_generate") != std::string::npos);
  // Exactly filling the context is fine.
  CHECK(generate(*model, setup(), {request(std::vector<int32_t>(30, 1), 2, 0, 0, 0, 1)})[0]
            .tokens.size() == 2);
}

}  // namespace
}  // namespace me
