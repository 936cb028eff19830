// Log-likelihood scoring: context and continuation are encoded apart (the harness's convention, so
// the continuation's tokens are exactly its own) and scored in one zero-token generation job.
#include "engine/serve/loglikelihood_api.h"

#include "engine/serve/json_fields.h"
#include "engine/serve/request_error.h"

namespace me::serve {

nlohmann::json loglikelihood(const ServeContext& ctx, const std::string& text) {
  const nlohmann::json body = parse_body(text);
  const JsonFields f(body, {"requests", "model"});
  f.string("model");
  if (!body.contains("requests") || !body.at("requests").is_array() ||
      body.at("requests").empty()) {
    throw RequestError("must be a non-empty list of {context, continuation}", "requests");
  }
  const auto& items = body.at("requests");
  if (static_cast<int64_t>(items.size()) > ctx.options.max_prompts) {
    throw RequestError(fmt::format("at most {} requests", ctx.options.max_prompts), "requests");
  }
  std::vector<GenerationRequest> requests;
  std::vector<size_t> continuation_tokens;
  for (const auto& item : items) {
    if (!item.is_object()) throw RequestError("each request must be an object", "requests");
    const JsonFields rf(item, {"context", "continuation"});
    const auto context = rf.string("context");
    const auto continuation = rf.string("continuation");
    if (!context) throw RequestError("required string", "requests.context");
    if (!continuation) throw RequestError("required string", "requests.continuation");
    GenerationRequest r;
    r.prompt = ctx.tokenizer.encode(*context);
    if (r.prompt.empty()) r.prompt.push_back(ctx.tokenizer.eod_id());
    const auto cont = ctx.tokenizer.encode(*continuation);
    if (cont.empty()) throw RequestError("encodes to no tokens", "requests.continuation");
    r.prompt.insert(r.prompt.end(), cont.begin(), cont.end());
    r.tokens_to_generate = 0;
    r.prompt_logprobs = true;
    continuation_tokens.push_back(cont.size());
    requests.push_back(std::move(r));
  }
  check_requests(ctx, requests, "requests", "requests");
  const auto results = run_job(ctx, requests);
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const size_t n = continuation_tokens[i], first = r.prompt_logprobs.size() - n;
    double sum = 0.0;
    bool greedy = true;
    for (size_t k = first; k < r.prompt_logprobs.size(); ++k) {
      sum += r.prompt_logprobs[k];
      greedy = greedy && r.prompt_top[k].token == requests[i].prompt[k + 1];
    }
    out.push_back({{"logprob", sum}, {"is_greedy", greedy}, {"tokens", n}});
  }
  return {{"results", out}};
}

}  // namespace me::serve
