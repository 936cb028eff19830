// Next-token choice from one row of logits: greedy, temperature, top-k and top-p (nucleus),
// with randomness from Philox keyed by (seed, position) so a seed reproduces a sample; log-probs.
#pragma once

#include <cstdint>
#include <span>

namespace me {

struct SamplingParams {
  double temperature = 1.0;  // 0 -> greedy
  int64_t top_k = 0;         // 0 -> no top-k cut
  double top_p = 0.0;        // 0 -> no nucleus cut
  uint64_t seed = 0;
};

// logits: the real (unpadded) vocabulary's scores. `position` keys the random draw.
int32_t sample_token(std::span<const float> logits, const SamplingParams& params,
                     uint64_t position);

// log softmax(logits)[token] in double: the model's log-probability of `token` (temperature 1).
double token_logprob(std::span<const float> logits, int32_t token);

}  // namespace me
