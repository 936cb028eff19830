// Completion objects. Text is the decoded generation cut at the first stop string; finish_reason is
// "stop" when a stop token or string ended the row, else "length". top_logprobs hold the single
// likeliest token at each position whatever n was asked.
#include "engine/serve/openai_response.h"

#include <ctime>

#include "engine/serve/completion_text.h"

namespace me::serve {
namespace {

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string piece(const ServeContext& ctx, int32_t token) { return ctx.tokenizer.decode({token}); }

// Completions' logprobs object over (echoed prompt and) generated tokens.
nlohmann::json completion_logprobs(const ServeContext& ctx, const CompletionJob& job,
                                   const GenerationRequest& request, const GenerationResult& r) {
  nlohmann::json out = {{"tokens", nlohmann::json::array()},
                        {"token_logprobs", nlohmann::json::array()},
                        {"top_logprobs", nlohmann::json::array()},
                        {"text_offset", nlohmann::json::array()}};
  size_t offset = 0;
  auto add = [&](int32_t token, const nlohmann::json& lp, const nlohmann::json& top) {
    const std::string text = piece(ctx, token);
    out["tokens"].push_back(text);
    out["token_logprobs"].push_back(lp);
    out["top_logprobs"].push_back(top);
    out["text_offset"].push_back(offset);
    offset += text.size();
  };
  auto top_of = [&](const TopToken& t) { return nlohmann::json{{piece(ctx, t.token), t.logprob}}; };
  if (job.echo) {
    for (size_t i = 0; i < request.prompt.size(); ++i) {
      if (i == 0) {
        add(request.prompt[0], nullptr, nullptr);
      } else {
        add(request.prompt[i], r.prompt_logprobs[i - 1], top_of(r.prompt_top[i - 1]));
      }
    }
  }
  for (size_t i = 0; i < r.tokens.size(); ++i) add(r.tokens[i], r.logprobs[i], top_of(r.top[i]));
  return out;
}

nlohmann::json chat_logprobs(const ServeContext& ctx, const GenerationResult& r) {
  nlohmann::json content = nlohmann::json::array();
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    content.push_back({{"token", piece(ctx, r.tokens[i])},
                       {"logprob", r.logprobs[i]},
                       {"top_logprobs",
                        {{{"token", piece(ctx, r.top[i].token)}, {"logprob", r.top[i].logprob}}}}});
  }
  return {{"content", content}};
}

nlohmann::json usage(const CompletionJob& job, const std::vector<GenerationResult>& results) {
  int64_t prompt = 0, completion = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    prompt += static_cast<int64_t>(job.requests[i].prompt.size());
    completion += static_cast<int64_t>(results[i].tokens.size());
  }
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion}};
}

}  // namespace

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json completion_response(const ServeContext& ctx, const CompletionJob& job,
                                   const std::vector<GenerationResult>& results,
                                   const std::string& id) {
  nlohmann::json choices = nlohmann::json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    const GenerationResult& r = results[i];
    const std::string text = cut_at_stop(ctx.tokenizer.decode(r.tokens), job.stops);
    nlohmann::json choice = {{"index", i}, {"finish_reason", r.stopped ? "stop" : "length"}};
    if (job.chat) {
      choice["message"] = {{"role", "assistant"}, {"content", text}};
      choice["logprobs"] = job.logprobs ? chat_logprobs(ctx, r) : nlohmann::json(nullptr);
    } else {
      choice["text"] = (job.echo ? ctx.tokenizer.decode(job.requests[i].prompt) : "") + text;
      choice["logprobs"] = job.logprobs ? completion_logprobs(ctx, job, job.requests[i], r)
                                        : nlohmann::json(nullptr);
    }
    choices.push_back(choice);
  }
  return {{"id", id},           {"object", job.chat ? "chat.completion" : "text_completion"},
          {"created", now()},   {"model", ctx.options.model_name},
          {"choices", choices}, {"usage", usage(job, results)}};
}

CompletionStream::CompletionStream(const ServeContext& ctx, const CompletionJob& job,
                                   std::string id)
    : ctx_(ctx),
      job_(job),
      id_(std::move(id)),
      created_(now()),
      tokens_(job.requests.size()),
      sent_(job.requests.size(), 0) {}

std::string CompletionStream::chunk(size_t index, const std::string& text,
                                    const nlohmann::json& finish) const {
  nlohmann::json choice = {{"index", index}, {"finish_reason", finish}, {"logprobs", nullptr}};
  if (job_.chat) {
    choice["delta"] = text.empty() && !finish.is_null() ? nlohmann::json::object()
                                                        : nlohmann::json{{"content", text}};
  } else {
    choice["text"] = text;
  }
  const nlohmann::json body = {{"id", id_},
                               {"object", job_.chat ? "chat.completion.chunk" : "text_completion"},
                               {"created", created_},
                               {"model", ctx_.options.model_name},
                               {"choices", {choice}}};
  return "data: " + dump_json(body) + "\n\n";
}

std::string CompletionStream::start() const {
  std::string events;
  for (size_t i = 0; i < job_.requests.size(); ++i) {
    if (job_.chat) {
      nlohmann::json choice = {{"index", i},
                               {"delta", {{"role", "assistant"}, {"content", ""}}},
                               {"finish_reason", nullptr},
                               {"logprobs", nullptr}};
      events += "data: " +
                dump_json({{"id", id_},
                           {"object", "chat.completion.chunk"},
                           {"created", created_},
                           {"model", ctx_.options.model_name},
                           {"choices", {choice}}}) +
                "\n\n";
    } else if (job_.echo) {
      events += chunk(i, ctx_.tokenizer.decode(job_.requests[i].prompt), nullptr);
    }
  }
  return events;
}

std::string CompletionStream::delta(size_t index, bool final) {
  const std::string visible = cut_at_stop(ctx_.tokenizer.decode(tokens_[index]), job_.stops);
  const size_t ready = final ? visible.size() : stable_prefix(visible, job_.stops);
  if (ready <= sent_[index]) return "";
  const std::string text = visible.substr(sent_[index], ready - sent_[index]);
  sent_[index] = ready;
  return text;
}

std::string CompletionStream::on_token(size_t index, int32_t token) {
  tokens_[index].push_back(token);
  const std::string text = delta(index, false);
  return text.empty() ? "" : chunk(index, text, nullptr);
}

std::string CompletionStream::finish(const std::vector<GenerationResult>& results) {
  std::string events;
  for (size_t i = 0; i < results.size(); ++i) {
    tokens_[i] = results[i].tokens;
    events += chunk(i, delta(i, true), results[i].stopped ? "stop" : "length");
  }
  if (job_.include_usage) {
    events += "data: " +
              dump_json({{"id", id_},
                         {"object", job_.chat ? "chat.completion.chunk" : "text_completion"},
                         {"created", created_},
                         {"model", ctx_.options.model_name},
                         {"choices", nlohmann::json::array()},
                         {"usage", usage(job_, results)}}) +
              "\n\n";
  }
  return events + "data: [DONE]\n\n";
}

}  // namespace me::serve
