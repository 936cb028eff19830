// One row of a generation batch: turns the model's next-token logits into the sampled token, its
// log-prob and the stop decision, the same way for the cached and the recomputing loops.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/inference/generator.h"

namespace me {

class SequenceState {
 public:
  SequenceState(const GenerationRequest& request, const GenerationSetup& setup, size_t row);

  // Scores prompt tokens 1..P-1 from logits rows 0..P-2 (each `stride` floats apart).
  void score_prompt(const float* logits, int64_t stride);
  // Samples from the next-token logits (real vocabulary first), records it, checks the stops.
  void advance(const float* logits);

  bool done() const { return done_; }
  int32_t last_token() const { return result_.tokens.back(); }
  // Prompt plus generated tokens: the sequence the next step continues.
  std::vector<int32_t> context() const;
  GenerationResult take() { return std::move(result_); }

 private:
  bool hits_stop_string() const;

  const GenerationRequest& request_;
  const GenerationSetup& setup_;
  size_t row_;
  bool done_;
  GenerationResult result_;
};

}  // namespace me
