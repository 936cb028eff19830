// Sampling: sort candidates by logit, cut by top-k / top-p, draw from the renormalised softmax.
#include "engine/inference/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/philox.h"

namespace me {

int32_t sample_token(std::span<const float> logits, const SamplingParams& params,
                     uint64_t position) {
  ME_CHECK(!logits.empty(), "sampling from an empty vocabulary");
  if (params.temperature <= 0.0 || params.top_k == 1) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t keep = order.size();
  if (params.top_k > 0) keep = std::min(keep, static_cast<size_t>(params.top_k));
  std::vector<double> probs(keep);
  const double max_logit = logits[order[0]];
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((logits[order[i]] - max_logit) / params.temperature);
    total += probs[i];
  }
  if (params.top_p > 0.0) {
    double cumulative = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += probs[i] / total;
      if (cumulative >= params.top_p) {
        keep = i + 1;
        break;
      }
    }
    total = std::accumulate(probs.begin(), probs.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
  }
  const double target = philox_uniform(params.seed, rng_stream("sample"), position) * total;
  double cumulative = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += probs[i];
    if (cumulative >= target) return order[i];
  }
  return order[keep - 1];
}

double token_logprob(std::span<const float> logits, int32_t token) {
  ME_CHECK(token >= 0 && static_cast<size_t>(token) < logits.size(), "token {} outside {} logits",
           token, logits.size());
  const double max_logit = *std::max_element(logits.begin(), logits.end());
  double total = 0.0;
  for (const float l : logits) total += std::exp(static_cast<double>(l) - max_logit);
  return static_cast<double>(logits[token]) - max_logit - std::log(total);
}

}  // namespace me
