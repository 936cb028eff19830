// A server on a free loopback port around a random tiny GPT and the byte tokenizer, with an httplib
// client, and the in-process generation that tells what each answer must be.
#pragma once

#include <doctest/doctest.h>
#include <httplib.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "datasets/byte_tokenizer.h"
#include "engine/models/gpt.h"
#include "engine/serve/openai_response.h"
#include "engine/serve/server.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me::test {

inline constexpr int64_t kServeContext = 64;

inline std::unique_ptr<GptModel> serve_model() {
  TinyGpt tiny;
  tiny.max_position_embeddings = kServeContext;
  tiny.hidden_size = 32;
  auto model = std::make_unique<GptModel>(tiny_gpt_recipe(tiny), 384);
  bind_standalone(model->parameters(), DType::kF32, 77);
  randomize_values(model->parameters(), 0.3, 77);
  return model;
}

class ServeFixture {
 public:
  explicit ServeFixture(serve::ServeOptions options = {}) : model_(serve_model()) {
    options.port = 0;
    setup_.max_positions = kServeContext;
    setup_.vocab_size = tokenizer_.vocab_size();
    setup_.detokenize = [this](const std::vector<int32_t>& ids) { return tokenizer_.decode(ids); };
    server_ = std::make_unique<serve::Server>(*model_, tokenizer_, setup_, options);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->listen(); });
    httplib::Client probe("127.0.0.1", port_);
    for (int i = 0; i < 200 && !probe.Get("/health"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~ServeFixture() {
    server_->stop();
    thread_.join();
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  serve::Server& server() { return *server_; }
  const ByteTokenizer& tokenizer() const { return tokenizer_; }

  // What the server must answer: the same rows generated here, alone.
  GenerationResult expected(const GenerationRequest& request) {
    return generate(*model_, setup_, {request}).front();
  }
  // Text as it crosses the wire (invalid UTF-8 replaced).
  static std::string wire(const std::string& text) {
    return nlohmann::json::parse(serve::dump_json(nlohmann::json(text))).get<std::string>();
  }

 private:
  std::unique_ptr<GptModel> model_;
  ByteTokenizer tokenizer_;
  GenerationSetup setup_;
  std::unique_ptr<serve::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

inline GenerationRequest greedy_request(const std::string& prompt, int64_t tokens) {
  GenerationRequest r;
  r.prompt = ByteTokenizer().encode(prompt);
  r.tokens_to_generate = tokens;
  r.sampling.temperature = 0.0;
  r.stop_tokens = {ByteTokenizer::kEodId};
  return r;
}

}  // namespace me::test
