// POST /v1/loglikelihood: what lm-evaluation-harness's loglikelihood requests need. Body
// {"requests": [{"context": str, "continuation": str}, ...]}; answer {"results": [{"logprob":
// sum of the continuation tokens' log-probs, "is_greedy": every continuation token is the
// likeliest, "tokens": continuation length}]}. An empty context starts from the EOD token.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/serve/serve_context.h"

namespace me::serve {

nlohmann::json loglikelihood(const ServeContext& ctx, const std::string& body);

}  // namespace me::serve
