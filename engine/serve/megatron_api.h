// Megatron's `PUT /api` (tools/run_text_generation_server.py): fields, checks and response shape
// as docs/serving.md lists; refusals are 400s with a JSON error (Megatron answers bare strings).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/serve/serve_context.h"

namespace me::serve {

// The response object for a request body, or a RequestError.
nlohmann::json megatron_generate(const ServeContext& ctx, const std::string& body);

}  // namespace me::serve
