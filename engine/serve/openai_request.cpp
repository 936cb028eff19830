// Completion and chat request parsing: OpenAI's field names and defaults (max_tokens 16,
// temperature 1 with 0 meaning greedy, top_p 1 meaning no cut), plus top_k and ignore_eos as
// vLLM and Megatron's dynamic server accept them. Only n = 1 and zero penalties are supported.
#include "engine/serve/openai_request.h"

#include "engine/serve/json_fields.h"
#include "engine/serve/request_error.h"

namespace me::serve {
namespace {

const std::set<std::string> kCommon = {"model",
                                       "max_tokens",
                                       "temperature",
                                       "top_p",
                                       "top_k",
                                       "stop",
                                       "seed",
                                       "stream",
                                       "stream_options",
                                       "n",
                                       "user",
                                       "presence_penalty",
                                       "frequency_penalty",
                                       "ignore_eos",
                                       "logprobs"};

std::set<std::string> with(std::set<std::string> fields, std::initializer_list<const char*> more) {
  for (const char* f : more) fields.insert(f);
  return fields;
}

// The fields both endpoints share, applied to a request template.
GenerationRequest common(const ServeContext& ctx, const JsonFields& f, CompletionJob& job,
                         const std::string& count_field, int64_t default_count) {
  if (f.integer("n", 1, 1).value_or(1) != 1) throw RequestError("only n = 1", "n");
  for (const char* p : {"presence_penalty", "frequency_penalty"}) f.number(p, 0.0, 0.0);
  f.string("model");
  f.string("user");
  GenerationRequest r;
  r.tokens_to_generate = f.integer(count_field, 0, ctx.setup.max_positions).value_or(default_count);
  const double temperature = f.number("temperature", 0.0, 100.0).value_or(1.0);
  const double top_p = f.number("top_p", 0.0, 1.0).value_or(1.0);
  if (f.has("top_p") && top_p == 0.0) throw RequestError("must be in (0, 1]", "top_p");
  r.sampling.temperature = temperature;
  r.sampling.top_k = f.integer("top_k", 0, ctx.setup.vocab_size).value_or(0);
  r.sampling.top_p = top_p >= 1.0 ? 0.0 : top_p;
  r.sampling.seed =
      f.has("seed") ? static_cast<uint64_t>(*f.integer("seed", 0, INT64_MAX)) : fresh_seed();
  if (!f.boolean("ignore_eos").value_or(false)) r.stop_tokens = {ctx.tokenizer.eod_id()};
  job.stops = f.strings("stop", 4);
  r.stop_strings = job.stops;
  job.stream = f.boolean("stream").value_or(false);
  if (f.has("stream_options")) {
    const auto& so = f.raw("stream_options");
    if (!so.is_object()) throw RequestError("must be an object", "stream_options");
    const JsonFields options(so, {"include_usage"});
    job.include_usage = options.boolean("include_usage").value_or(false);
  }
  return r;
}

// prompt: a string, a list of strings, a list of token ids or a list of such lists.
std::vector<std::vector<int32_t>> prompts_of(const ServeContext& ctx, const nlohmann::json& p) {
  auto ids = [&](const nlohmann::json& list) {
    std::vector<int32_t> out;
    for (const auto& t : list) {
      if (!t.is_number_integer()) throw RequestError("token lists must hold integers", "prompt");
      out.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
    return out;
  };
  std::vector<std::vector<int32_t>> out;
  if (p.is_string()) {
    out.push_back(ctx.tokenizer.encode(p.get<std::string>()));
  } else if (p.is_array() && !p.empty() && p[0].is_number_integer()) {
    out.push_back(ids(p));
  } else if (p.is_array() && !p.empty()) {
    for (const auto& item : p) {
      if (item.is_string()) {
        out.push_back(ctx.tokenizer.encode(item.get<std::string>()));
      } else if (item.is_array()) {
        out.push_back(ids(item));
      } else {
        throw RequestError("must be a string, a list of strings or of token lists", "prompt");
      }
    }
  } else {
    throw RequestError("must be a string, a list of strings or of token lists", "prompt");
  }
  if (static_cast<int64_t>(out.size()) > ctx.options.max_prompts) {
    throw RequestError(fmt::format("at most {} prompts", ctx.options.max_prompts), "prompt");
  }
  return out;
}

}  // namespace

CompletionJob parse_completion(const ServeContext& ctx, const std::string& text) {
  const nlohmann::json body = parse_body(text);
  const JsonFields f(body, with(kCommon, {"prompt", "echo", "best_of", "suffix"}));
  if (!body.contains("prompt")) throw RequestError("required", "prompt");
  if (f.integer("best_of", 1, 1).value_or(1) != 1) throw RequestError("only 1", "best_of");
  if (f.has("suffix")) throw RequestError("not supported", "suffix");
  CompletionJob job;
  const GenerationRequest base = common(ctx, f, job, "max_tokens", 16);
  job.echo = f.boolean("echo").value_or(false);
  job.logprobs = f.integer("logprobs", 0, 5);
  if (base.tokens_to_generate == 0 && !job.echo) {
    throw RequestError("max_tokens 0 needs echo (to score the prompt)", "max_tokens");
  }
  for (auto& prompt : prompts_of(ctx, body.at("prompt"))) {
    GenerationRequest r = base;
    r.prompt = std::move(prompt);
    r.prompt_logprobs = job.echo && job.logprobs.has_value();
    job.requests.push_back(std::move(r));
  }
  check_requests(ctx, job.requests, "prompt", "max_tokens");
  return job;
}

CompletionJob parse_chat(const ServeContext& ctx, const std::string& text) {
  const nlohmann::json body = parse_body(text);
  const JsonFields f(body, with(kCommon, {"messages", "max_completion_tokens", "top_logprobs"}));
  CompletionJob job;
  job.chat = true;
  const bool newer = f.has("max_completion_tokens");
  GenerationRequest r =
      common(ctx, f, job, newer ? "max_completion_tokens" : "max_tokens", ctx.setup.max_positions);
  if (f.boolean("logprobs").value_or(false))
    job.logprobs = f.integer("top_logprobs", 0, 5).value_or(0);
  if (!body.contains("messages") || !body.at("messages").is_array() ||
      body.at("messages").empty()) {
    throw RequestError("must be a non-empty list of {role, content}", "messages");
  }
  std::string transcript;
  for (const auto& m : body.at("messages")) {
    if (!m.is_object()) throw RequestError("each message must be an object", "messages");
    const JsonFields mf(m, {"role", "content", "name"});
    const auto role = mf.string("role");
    const auto content = mf.string("content");
    if (!role || (*role != "system" && *role != "user" && *role != "assistant")) {
      throw RequestError("role must be system, user or assistant", "messages.role");
    }
    if (!content) throw RequestError("required string", "messages.content");
    std::string name = *role;
    name[0] = static_cast<char>(std::toupper(name[0]));
    transcript += name + ": " + *content + "\n";
  }
  transcript += "Assistant:";
  r.prompt = ctx.tokenizer.encode(transcript);
  // A room left at the end of the context is the default budget; the next turn ends the reply.
  if (!f.has(newer ? "max_completion_tokens" : "max_tokens")) {
    r.tokens_to_generate =
        std::max<int64_t>(0, ctx.setup.max_positions - static_cast<int64_t>(r.prompt.size()));
  }
  job.stops.push_back("\nUser:");
  r.stop_strings = job.stops;
  job.requests.push_back(std::move(r));
  check_requests(ctx, job.requests, "messages", newer ? "max_completion_tokens" : "max_tokens");
  return job;
}

}  // namespace me::serve
