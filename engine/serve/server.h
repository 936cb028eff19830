// `megatron-engine serve`: the HTTP front of a loaded model. Routes:
//   PUT /api                    Megatron's text generation API
//   POST /v1/completions        OpenAI completions (stream: true answers server-sent events)
//   POST /v1/chat/completions   OpenAI chat completions (same)
//   POST /v1/loglikelihood      continuation log-probs (lm-evaluation-harness)
//   GET /v1/models, GET /health (also /v1/health), GET / (a page to try prompts)
// Every refusal is a JSON error with a 4xx status (503 when the queue is full).
#pragma once

#include <atomic>
#include <memory>

#include "engine/serve/serve_context.h"

namespace httplib {
class Server;
}

namespace me::serve {

class Server {
 public:
  Server(CausalLm& model, const Tokenizer& tokenizer, GenerationSetup setup, ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds options.host:options.port (port 0: any free port) and returns the port bound.
  int bind();
  // Serves until stop(); call after bind.
  void listen();
  void stop();
  Scheduler& scheduler() { return scheduler_; }

 private:
  void add_routes();
  void add_completion_route(const char* path, bool chat);

  ServeOptions options_;
  const Tokenizer& tokenizer_;
  GenerationSetup setup_;
  Scheduler scheduler_;
  ServeContext ctx_;
  std::atomic<int64_t> next_id_{0};
  int listen_socket_ = -1;  // captured while httplib creates it, to raise its listen backlog
  std::unique_ptr<httplib::Server> http_;
};

}  // namespace me::serve
