// Autoregressive generation from a model by full re-computation each step (no KV cache yet): the
// context is the last max_position_embeddings tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/inference/sampling.h"
#include "engine/models/model.h"

namespace me {

struct GenerationRequest {
  std::vector<int32_t> prompt;
  int64_t tokens_to_generate = 64;
  int64_t max_positions = 0;  // the model's max_position_embeddings
  int64_t vocab_size = 0;     // real vocabulary: padded rows are never sampled
  std::optional<int32_t> stop_token;
  SamplingParams sampling;
};

// Returns the generated tokens (without the prompt), stopping early at stop_token.
std::vector<int32_t> generate(Model& model, Device device, const GenerationRequest& request);

}  // namespace me
