// PUT /api: each prompt is one row of one scheduler job. text and tokens hold prompt plus
// generation, segments the text of each token, logprobs the prompt's then the generation's.
#include "engine/serve/megatron_api.h"

#include "engine/serve/completion_text.h"
#include "engine/serve/json_fields.h"
#include "engine/serve/request_error.h"

namespace me::serve {
namespace {

const std::set<std::string> kFields = {"prompts",
                                       "tokens_to_generate",
                                       "logprobs",
                                       "temperature",
                                       "top_k",
                                       "top_p",
                                       "top_p_decay",
                                       "top_p_bound",
                                       "add_BOS",
                                       "stop_on_eol",
                                       "stop_on_double_eol",
                                       "prevent_newline_after_colon",
                                       "random_seed",
                                       "stop_token",
                                       "length_penalty",
                                       "max_len",
                                       "sentences",
                                       "beam_width"};

std::vector<std::string> prompts_of(const nlohmann::json& body, int64_t max_prompts) {
  if (!body.contains("prompts")) throw RequestError("prompts argument required", "prompts");
  const auto& p = body.at("prompts");
  if (!p.is_array()) throw RequestError("prompts is not a list of strings", "prompts");
  if (p.empty()) throw RequestError("prompts is empty", "prompts");
  if (static_cast<int64_t>(p.size()) > max_prompts) {
    throw RequestError(fmt::format("maximum number of prompts is {}", max_prompts), "prompts");
  }
  std::vector<std::string> out;
  for (const auto& item : p) {
    if (!item.is_string()) throw RequestError("prompts is not a list of strings", "prompts");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

nlohmann::json megatron_generate(const ServeContext& ctx, const std::string& body_text) {
  const nlohmann::json body = parse_body(body_text);
  if (body.contains("max_len")) {
    throw RequestError("max_len is no longer used; replace it with tokens_to_generate", "max_len");
  }
  if (body.contains("sentences")) {
    throw RequestError("sentences is no longer used; replace it with prompts", "sentences");
  }
  if (body.contains("beam_width")) {
    throw RequestError("beam search is not supported", "beam_width");
  }
  const JsonFields f(body, kFields);
  const std::vector<std::string> prompts = prompts_of(body, ctx.options.max_prompts);
  const int64_t tokens = f.integer("tokens_to_generate", 0, ctx.setup.max_positions).value_or(64);
  const bool logprobs = f.boolean("logprobs").value_or(false);
  if (tokens == 0 && !logprobs) {
    throw RequestError("tokens_to_generate=0 implies logprobs should be true", "logprobs");
  }
  const double temperature = f.number("temperature", 0.0, 100.0).value_or(1.0);
  if (temperature <= 0.0) throw RequestError("must be in (0, 100]", "temperature");
  const int64_t top_k = f.integer("top_k", 0, 1000).value_or(0);
  if (f.has("top_p") && !f.raw("top_p").is_number_float()) {
    throw RequestError("must be a float", "top_p");
  }
  const double top_p = f.number("top_p", 0.0, 1.0).value_or(0.0);
  if (top_k > 0 && top_p > 0.0) {
    throw RequestError("cannot set both top-k and top-p samplings", "top_p");
  }
  const double decay = f.number("top_p_decay", 0.0, 1.0).value_or(0.0);
  const double bound = f.number("top_p_bound", 0.0, 1.0).value_or(0.0);
  if ((decay > 0.0 || bound > 0.0) && top_p == 0.0) {
    throw RequestError("top_p_decay and top_p_bound need top_p",
                       decay > 0.0 ? "top_p_decay" : "top_p_bound");
  }
  if (bound > top_p) throw RequestError("must be in (0, top_p]", "top_p_bound");
  const bool add_bos = f.boolean("add_BOS").value_or(false);
  f.boolean("prevent_newline_after_colon");
  f.number("length_penalty", -1e9, 1e9);
  std::vector<std::string> stops;
  if (f.boolean("stop_on_double_eol").value_or(false)) stops.push_back("\n\n");
  if (f.boolean("stop_on_eol").value_or(false)) stops.push_back("\n");
  const uint64_t seed = f.has("random_seed")
                            ? static_cast<uint64_t>(*f.integer("random_seed", 0, INT64_MAX))
                            : fresh_seed();
  const int32_t stop_token = static_cast<int32_t>(
      f.integer("stop_token", 0, ctx.setup.vocab_size - 1).value_or(ctx.tokenizer.eod_id()));

  std::vector<GenerationRequest> requests;
  for (const auto& text : prompts) {
    GenerationRequest r;
    if (add_bos) r.prompt.push_back(ctx.tokenizer.eod_id());
    const auto ids = ctx.tokenizer.encode(text);
    r.prompt.insert(r.prompt.end(), ids.begin(), ids.end());
    if (r.prompt.empty()) throw RequestError("an empty prompt needs add_BOS", "prompts");
    r.tokens_to_generate = tokens;
    r.sampling = {temperature, top_k, top_p, seed};
    r.stop_tokens = {stop_token};
    r.stop_strings = stops;
    r.prompt_logprobs = logprobs;
    requests.push_back(std::move(r));
  }
  check_requests(ctx, requests, "prompts", "tokens_to_generate");
  const auto results = run_job(ctx, requests);

  nlohmann::json out = {{"text", nlohmann::json::array()},
                        {"tokens", nlohmann::json::array()},
                        {"segments", nlohmann::json::array()}};
  if (logprobs) out["logprobs"] = nlohmann::json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    std::vector<int32_t> all = requests[i].prompt;
    all.insert(all.end(), results[i].tokens.begin(), results[i].tokens.end());
    const std::string prompt_text = ctx.tokenizer.decode(requests[i].prompt);
    out["text"].push_back(prompt_text +
                          cut_at_stop(ctx.tokenizer.decode(results[i].tokens), stops));
    out["tokens"].push_back(all);
    nlohmann::json segments = nlohmann::json::array();
    for (const int32_t t : all) segments.push_back(ctx.tokenizer.decode({t}));
    out["segments"].push_back(segments);
    if (logprobs) {
      std::vector<float> lp = results[i].prompt_logprobs;
      lp.insert(lp.end(), results[i].logprobs.begin(), results[i].logprobs.end());
      out["logprobs"].push_back(lp);
    }
  }
  return out;
}

}  // namespace me::serve
