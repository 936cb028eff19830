// The OpenAI-style request bodies (POST /v1/completions and /v1/chat/completions), checked and
// turned into generation rows. Chat messages become a plain-text transcript ("User: ...\n" lines
// ending in "Assistant:"): checkpoints carry no chat template.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/serve/serve_context.h"

namespace me::serve {

struct CompletionJob {
  bool chat = false;
  std::vector<GenerationRequest> requests;  // one per prompt
  std::vector<std::string> stops;           // cut the text at the first of these
  bool echo = false;                        // completions: the prompt leads the text
  std::optional<int64_t> logprobs;          // top-n asked for (we give the single likeliest)
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

CompletionJob parse_completion(const ServeContext& ctx, const std::string& body);
CompletionJob parse_chat(const ServeContext& ctx, const std::string& body);

}  // namespace me::serve
