// SequenceState: sampling position = tokens so far (so a seed gives the same draw whether rows are
// batched or not), log-probs under the untempered softmax, stop tokens before stop strings.
#include "engine/inference/sequence_state.h"

#include <algorithm>

namespace me {
namespace {
TopToken top_token(std::span<const float> logits) {
  const auto best =
      static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  return {best, static_cast<float>(token_logprob(logits, best))};
}
}  // namespace

SequenceState::SequenceState(const GenerationRequest& request, const GenerationSetup& setup,
                             size_t row)
    : request_(request), setup_(setup), row_(row), done_(request.tokens_to_generate == 0) {}

void SequenceState::score_prompt(const float* logits, int64_t stride) {
  if (!request_.prompt_logprobs) return;
  const auto& prompt = request_.prompt;
  for (size_t i = 1; i < prompt.size(); ++i) {
    const std::span<const float> row(logits + (i - 1) * stride,
                                     static_cast<size_t>(setup_.vocab_size));
    result_.prompt_logprobs.push_back(static_cast<float>(token_logprob(row, prompt[i])));
    result_.prompt_top.push_back(top_token(row));
  }
}

void SequenceState::advance(const float* logits) {
  ME_CHECK(!done_, "advancing a finished sequence");
  const std::span<const float> row(logits, static_cast<size_t>(setup_.vocab_size));
  const uint64_t position = request_.prompt.size() + result_.tokens.size();
  const int32_t next = sample_token(row, request_.sampling, position);
  const auto& stops = request_.stop_tokens;
  if (std::find(stops.begin(), stops.end(), next) != stops.end()) {
    result_.stopped = done_ = true;
    return;
  }
  const float logprob = static_cast<float>(token_logprob(row, next));
  result_.tokens.push_back(next);
  result_.logprobs.push_back(logprob);
  result_.top.push_back(top_token(row));
  if (setup_.on_token) setup_.on_token(row_, next, logprob);
  if (hits_stop_string()) {
    result_.stopped = done_ = true;
  } else if (static_cast<int64_t>(result_.tokens.size()) >= request_.tokens_to_generate) {
    done_ = true;
  }
}

bool SequenceState::hits_stop_string() const {
  if (request_.stop_strings.empty() || !setup_.detokenize) return false;
  const std::string text = setup_.detokenize(result_.tokens);
  return std::any_of(request_.stop_strings.begin(), request_.stop_strings.end(),
                     [&](const std::string& s) { return text.find(s) != std::string::npos; });
}

std::vector<int32_t> SequenceState::context() const {
  std::vector<int32_t> out = request_.prompt;
  out.insert(out.end(), result_.tokens.begin(), result_.tokens.end());
  return out;
}

}  // namespace me
