// OpenAI-shaped answers: whole completion and chat.completion objects, and the server-sent event
// stream of chunks (text deltas that add up to the final text, then finish_reason, optional usage
// and "data: [DONE]").
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/serve/openai_request.h"

namespace me::serve {

nlohmann::json completion_response(const ServeContext& ctx, const CompletionJob& job,
                                   const std::vector<GenerationResult>& results,
                                   const std::string& id);

// One streamed response. on_token runs on the scheduler thread; each call returns the SSE events
// ("data: {...}\n\n") to send.
class CompletionStream {
 public:
  CompletionStream(const ServeContext& ctx, const CompletionJob& job, std::string id);
  std::string start() const;  // chat: the assistant role; completions with echo: the prompt
  std::string on_token(size_t index, int32_t token);
  std::string finish(const std::vector<GenerationResult>& results);

 private:
  std::string chunk(size_t index, const std::string& text, const nlohmann::json& finish) const;
  std::string delta(size_t index, bool final);

  const ServeContext& ctx_;
  const CompletionJob& job_;
  std::string id_;
  int64_t created_;
  std::vector<std::vector<int32_t>> tokens_;
  std::vector<size_t> sent_;  // bytes of each choice's visible text already sent
};

// Serialises JSON for the wire; invalid UTF-8 (a token that splits a character) becomes U+FFFD.
std::string dump_json(const nlohmann::json& j);

}  // namespace me::serve
