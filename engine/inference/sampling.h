// Next-token choice from one row of logits: greedy, temperature, top-k and top-p (nucleus),
// with randomness from Philox keyed by (seed, position) so a seed reproduces a sample.
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

}  // namespace me
