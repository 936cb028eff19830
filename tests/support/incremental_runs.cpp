// The two ways of running prompts through a CausalLm's inference state; logits come back to the
// host as f32 rows of the padded vocabulary, greedy picks from the real one.
#include "tests/support/incremental_runs.h"

#include <algorithm>

namespace me::test {
namespace {

int64_t capacity_of(const std::vector<std::vector<int32_t>>& prompts,
                    const std::vector<int64_t>& steps) {
  int64_t capacity = 1;
  for (size_t r = 0; r < prompts.size(); ++r) {
    capacity = std::max(capacity, static_cast<int64_t>(prompts[r].size()) + steps[r]);
  }
  return capacity;
}

// Appends logits row `position` of row b of (B, T, V) to `out` and returns its greedy token.
int32_t take_row(const Tensor& logits, int64_t b, int64_t position, int64_t vocab,
                 std::vector<float>& out) {
  const int64_t t = logits.dim(1), v = logits.dim(2);
  const float* row = logits.data<float>() + (b * t + position) * v;
  out.insert(out.end(), row, row + v);
  return static_cast<int32_t>(std::max_element(row, row + vocab) - row);
}

}  // namespace

IncrementalRun prefill_together(CausalLm& model, const std::vector<std::vector<int32_t>>& prompts,
                                const std::vector<int64_t>& steps, int64_t vocab,
                                int32_t pad_token) {
  const int64_t batch = static_cast<int64_t>(prompts.size());
  int64_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, static_cast<int64_t>(p.size()));
  InferenceState state = model.make_inference_state(batch, capacity_of(prompts, steps));
  std::vector<int32_t> tokens(static_cast<size_t>(batch * longest), pad_token);
  std::vector<int64_t> lengths;
  for (int64_t b = 0; b < batch; ++b) {
    std::copy(prompts[b].begin(), prompts[b].end(), tokens.begin() + b * longest);
    lengths.push_back(static_cast<int64_t>(prompts[b].size()));
  }
  IncrementalRun run{std::vector<std::vector<float>>(prompts.size()),
                     std::vector<std::vector<int32_t>>(prompts.size()),
                     {}};
  const Tensor prefill =
      model.logits(Tensor::from_vector(tokens, {batch, longest}), lengths, state).to(Device::cpu());
  std::vector<int32_t> next(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < lengths[b]; ++i) {
      next[b] = take_row(prefill, b, i, vocab, run.logits[b]);
    }
  }
  const int64_t most = *std::max_element(steps.begin(), steps.end());
  for (int64_t s = 0; s < most; ++s) {
    std::vector<int64_t> step_lengths(static_cast<size_t>(batch), 0);
    std::vector<int32_t> step_tokens(static_cast<size_t>(batch), pad_token);
    for (int64_t b = 0; b < batch; ++b) {
      if (s >= steps[b]) continue;
      step_lengths[b] = 1;
      step_tokens[b] = next[b];
      run.tokens[b].push_back(next[b]);
    }
    const Tensor step =
        model.logits(Tensor::from_vector(step_tokens, {batch, 1}), step_lengths, state)
            .to(Device::cpu());
    for (int64_t b = 0; b < batch; ++b) {
      if (s < steps[b]) next[b] = take_row(step, b, 0, vocab, run.logits[b]);
    }
  }
  run.lengths = state.lengths();
  return run;
}

IncrementalRun token_by_token(CausalLm& model, const std::vector<std::vector<int32_t>>& prompts,
                              const std::vector<int64_t>& steps, int64_t vocab) {
  IncrementalRun run;
  for (size_t r = 0; r < prompts.size(); ++r) {
    InferenceState state = model.make_inference_state(1, capacity_of({prompts[r]}, {steps[r]}));
    std::vector<float> logits;
    std::vector<int32_t> tokens;
    const std::vector<int64_t> one = {1};
    auto step = [&](int32_t token) {
      const Tensor out =
          model.logits(Tensor::from_vector<int32_t>({token}, {1, 1}), one, state).to(Device::cpu());
      return take_row(out, 0, 0, vocab, logits);
    };
    int32_t next = 0;
    for (const int32_t token : prompts[r]) next = step(token);
    for (int64_t s = 0; s < steps[r]; ++s) {
      tokens.push_back(next);
      next = step(next);
    }
    run.logits.push_back(std::move(logits));
    run.tokens.push_back(std::move(tokens));
    run.lengths.push_back(state.lengths()[0]);
  }
  return run;
}

}  // namespace me::test
