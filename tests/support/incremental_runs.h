// Test helper: a causal LM's logits at every real position of several prompts, either prefilled
// together in one step with per-row lengths or fed alone one token at a time, then continued
// greedily; what the per-row-length prefill tests compare.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/models/causal_lm.h"

namespace me::test {

struct IncrementalRun {
  // Per row: the logits (positions, padded vocab) of its prompt's positions, then of each greedy
  // step's, flattened.
  std::vector<std::vector<float>> logits;
  std::vector<std::vector<int32_t>> tokens;  // per row: the greedy tokens, argmax of real vocab
  std::vector<int64_t> lengths;              // the state's row lengths at the end
};

// Every prompt in one prefill step (row b padded with `pad_token` past its prompt), then steps of
// one token per row while row b has steps[b] left (then steps of zero tokens).
IncrementalRun prefill_together(CausalLm& model, const std::vector<std::vector<int32_t>>& prompts,
                                const std::vector<int64_t>& steps, int64_t vocab,
                                int32_t pad_token);
// Each prompt alone in its own state, one token per step, then its steps[b] greedy steps.
IncrementalRun token_by_token(CausalLm& model, const std::vector<std::vector<int32_t>>& prompts,
                              const std::vector<int64_t>& steps, int64_t vocab);

}  // namespace me::test
