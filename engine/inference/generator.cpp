// The generation loops. Cached: one prefill step over every prompt with per-row lengths (the
// positions past a prompt are padding that no layer writes into its state or attends to, so
// recurrent and bidirectional layers see only their row's tokens), then steps of one token per
// row, each row from its own length. Finished rows keep a slot in the batch with steps of zero
// tokens, so their state stays as it was.
#include "engine/inference/generator.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "engine/inference/sequence_state.h"

namespace me {

void check_request(const GenerationRequest& request, const GenerationSetup& setup) {
  ME_CHECK(setup.max_positions > 0 && setup.vocab_size > 0, "generation needs model sizes");
  if (request.prompt.empty()) throw Error("the prompt encodes to no tokens", "prompt");
  if (request.tokens_to_generate < 0) throw Error("must be >= 0", "tokens_to_generate");
  const int64_t prompt = static_cast<int64_t>(request.prompt.size());
  if (prompt + request.tokens_to_generate > setup.max_positions) {
    throw Error(fmt::format("a prompt of {} tokens plus {} new tokens exceeds the model's context "
                            "of {} positions",
                            prompt, request.tokens_to_generate, setup.max_positions),
                prompt > setup.max_positions ? "prompt" : "tokens_to_generate");
  }
  for (const int32_t t : request.prompt) {
    if (t < 0 || t >= setup.vocab_size) {
      throw Error(fmt::format("token {} outside the vocabulary of {}", t, setup.vocab_size),
                  "prompt");
    }
  }
  for (const auto& s : request.stop_strings) {
    if (s.empty()) throw Error("stop strings must not be empty", "stop");
  }
}

std::vector<GenerationResult> generate(CausalLm& model, const GenerationSetup& setup,
                                       const std::vector<GenerationRequest>& requests) {
  if (requests.empty()) return {};
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const int64_t batch = static_cast<int64_t>(requests.size());
  int64_t padded = 0, capacity = 0;
  std::vector<SequenceState> rows;
  rows.reserve(requests.size());
  for (size_t b = 0; b < requests.size(); ++b) {
    check_request(requests[b], setup);
    const int64_t p = static_cast<int64_t>(requests[b].prompt.size());
    padded = std::max(padded, p);
    capacity = std::max(capacity, p + requests[b].tokens_to_generate);
    rows.emplace_back(requests[b], setup, b);
  }
  InferenceState state = model.make_inference_state(batch, capacity);
  std::vector<int32_t> tokens(static_cast<size_t>(batch * padded), 0);
  std::vector<int64_t> lengths(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    std::copy(requests[b].prompt.begin(), requests[b].prompt.end(), tokens.begin() + b * padded);
    lengths[b] = static_cast<int64_t>(requests[b].prompt.size());
  }
  const Tensor prefill =
      model.logits(Tensor::from_vector(tokens, {batch, padded}), lengths, state).to(Device::cpu());
  const int64_t vocab = prefill.dim(-1);
  for (int64_t b = 0; b < batch; ++b) {
    const float* row = prefill.data<float>() + b * padded * vocab;
    rows[b].score_prompt(row, vocab);
    if (!rows[b].done()) rows[b].advance(row + (lengths[b] - 1) * vocab);
  }
  const auto prefilled = Clock::now();
  const int64_t prompt_tokens = std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
  int64_t steps = 0;
  auto active = [&] {
    return std::any_of(rows.begin(), rows.end(), [](const SequenceState& r) { return !r.done(); });
  };
  while (active()) {
    std::vector<int32_t> next(static_cast<size_t>(batch), 0);
    std::vector<int64_t> step_lengths(static_cast<size_t>(batch), 0);
    for (int64_t b = 0; b < batch; ++b) {
      if (rows[b].done()) continue;
      next[b] = rows[b].last_token();
      step_lengths[b] = 1;
    }
    ++steps;
    const Tensor step =
        model.logits(Tensor::from_vector(next, {batch, 1}), step_lengths, state).to(Device::cpu());
    for (int64_t b = 0; b < batch; ++b) {
      if (!rows[b].done()) rows[b].advance(step.data<float>() + b * vocab);
    }
  }
  if (setup.timings) {
    const std::chrono::duration<double> prefill = prefilled - started;
    const std::chrono::duration<double> decode = Clock::now() - prefilled;
    *setup.timings = {prefill.count(), decode.count(), prompt_tokens, steps};
  }
  std::vector<GenerationResult> results;
  for (auto& row : rows) results.push_back(row.take());
  return results;
}

std::vector<GenerationResult> generate_recompute(CausalLm& model, const GenerationSetup& setup,
                                                 const std::vector<GenerationRequest>& requests) {
  std::vector<GenerationResult> results;
  for (size_t r = 0; r < requests.size(); ++r) {
    check_request(requests[r], setup);
    SequenceState row(requests[r], setup, r);
    bool first = true;
    while (first || !row.done()) {
      const std::vector<int32_t> context = row.context();
      const int64_t t = static_cast<int64_t>(context.size());
      const Tensor logits = model.logits(Tensor::from_vector(context, {1, t})).to(Device::cpu());
      const int64_t vocab = logits.dim(-1);
      if (first) row.score_prompt(logits.data<float>(), vocab);
      first = false;
      if (!row.done()) row.advance(logits.data<float>() + (t - 1) * vocab);
    }
    results.push_back(row.take());
  }
  return results;
}

}  // namespace me
