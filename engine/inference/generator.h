// Batched autoregressive generation: prefill every prompt into the model's inference state in one
// step with per-row lengths, then one token per row per step. generate_recompute is the same loop
// by full re-computation, one prompt at a time: the reference the cached path is tested against.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/inference/sampling.h"
#include "engine/models/causal_lm.h"

namespace me {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // at least one token
  int64_t tokens_to_generate = 64;
  SamplingParams sampling;
  std::vector<int32_t> stop_tokens;       // end the row; not part of the output
  std::vector<std::string> stop_strings;  // end the row once the decoded output contains one
  bool prompt_logprobs = false;           // also score the prompt's tokens
};

// The likeliest token at a position and its log-prob (is_greedy, OpenAI top_logprobs).
struct TopToken {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct GenerationResult {
  std::vector<int32_t> tokens;         // generated, without the prompt
  std::vector<float> logprobs;         // log p(tokens[i] | context), temperature 1
  std::vector<TopToken> top;           // the likeliest token where tokens[i] was drawn
  std::vector<float> prompt_logprobs;  // log p(prompt[i] | prompt[<i]) for i >= 1, when asked
  std::vector<TopToken> prompt_top;    // the likeliest token where prompt[i] stands, i >= 1
  bool stopped = false;                // a stop token or string ended it (else the token count)
};

// Wall-clock split of one cached generate() call (benchmarks): prefill includes the first token's
// sampling, so it is the time to first token.
struct GenerationTimings {
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  int64_t prefill_tokens = 0;  // prompt tokens (without padding)
  int64_t decode_steps = 0;
};

struct GenerationSetup {
  int64_t max_positions = 0;  // the model's max_position_embeddings
  int64_t vocab_size = 0;     // real vocabulary: padded rows are never sampled
  // Token ids -> text, needed by stop strings.
  std::function<std::string(const std::vector<int32_t>&)> detokenize;
  // Called with (row, token, logprob) as each token is accepted (streaming).
  std::function<void(size_t, int32_t, float)> on_token;
  GenerationTimings* timings = nullptr;  // filled by generate() when set
};

// Throws me::Error naming the field when a request cannot run (empty prompt, negative count,
// prompt + tokens_to_generate beyond max_positions).
void check_request(const GenerationRequest& request, const GenerationSetup& setup);

// Over the model's inference state, all requests in one batch.
std::vector<GenerationResult> generate(CausalLm& model, const GenerationSetup& setup,
                                       const std::vector<GenerationRequest>& requests);
// Full re-computation each step, one request at a time.
std::vector<GenerationResult> generate_recompute(CausalLm& model, const GenerationSetup& setup,
                                                 const std::vector<GenerationRequest>& requests);

}  // namespace me
