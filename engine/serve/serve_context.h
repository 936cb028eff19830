// What every endpoint of `megatron-engine serve` works with: the options, the tokenizer, the
// generation limits and the scheduler; and the common path of a generation request (check every
// row, queue, wait), which answers 503 when the queue is full.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/tokenizer.h"
#include "engine/inference/generator.h"
#include "engine/serve/scheduler.h"

namespace me::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 5000;
  int64_t max_batch = 32;           // prompts generated together
  int64_t queue_limit = 64;         // jobs waiting before 503
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413
  int64_t max_prompts = 128;        // prompts per request (Megatron's limit)
  std::string model_name = "megatron-engine";
};

struct ServeContext {
  const ServeOptions& options;
  const Tokenizer& tokenizer;
  const GenerationSetup& setup;  // max_positions, vocabulary, detokenize
  Scheduler& scheduler;
};

// check_request on every row, as a RequestError naming the API's own fields: `count_field` for
// the token count, `prompt_field` for the prompt.
void check_requests(const ServeContext& ctx, const std::vector<GenerationRequest>& requests,
                    const std::string& prompt_field, const std::string& count_field);

// Queues the job (503 RequestError when the queue is full) and waits for its results.
std::vector<GenerationResult> run_job(const ServeContext& ctx,
                                      std::vector<GenerationRequest> requests,
                                      TokenCallback on_token = {});

// A seed for requests that give none.
uint64_t fresh_seed();

}  // namespace me::serve
