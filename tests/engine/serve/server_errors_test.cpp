// Bad requests through a real HTTP client: each gets a 4xx JSON error naming the field and the
// server keeps serving; a full queue answers 503 and the queued requests still complete.
#include <nlohmann/json.hpp>

#include <future>

#include "tests/engine/serve/serve_fixture.h"

namespace me {
namespace {

using nlohmann::json;

struct BadRequest {
  const char* method;
  const char* path;
  std::string body;
  int status;
  const char* field;  // error.param; "" for none
};

std::vector<BadRequest> bad_requests() {
  const std::string long_prompt(100, 'x');  // the context is 64 positions
  return {
      {"PUT", "/api", "{not json", 400, "body"},
      {"PUT", "/api", "[1, 2]", 400, "body"},
      {"PUT", "/api", R"({"tokens_to_generate": 4})", 400, "prompts"},
      {"PUT", "/api", R"({"prompts": "x"})", 400, "prompts"},
      {"PUT", "/api", R"({"prompts": ["x"], "tokens_to_generate": "5"})", 400,
       "tokens_to_generate"},
      {"PUT", "/api", R"({"prompts": ["x"], "tokens_to_generate": -1})", 400, "tokens_to_generate"},
      {"PUT", "/api", R"({"prompts": ["x"], "tokens_to_generate": 1000000000000})", 400,
       "tokens_to_generate"},
      {"PUT", "/api", R"({"prompts": ["xxxx"], "tokens_to_generate": 61})", 400,
       "tokens_to_generate"},
      {"PUT", "/api", R"({"prompts": [")" + long_prompt + R"("], "tokens_to_generate": 1})", 400,
       "prompts"},
      {"PUT", "/api", R"({"prompts": ["x"], "bogus": 1})", 400, "bogus"},
      {"PUT", "/api", R"({"prompts": ["x"], "temperature": 0})", 400, "temperature"},
      {"PUT", "/api", R"({"prompts": ["x"], "top_p": 1})", 400, "top_p"},
      {"PUT", "/api", R"({"prompts": ["x"], "top_k": 5, "top_p": 0.5})", 400, "top_p"},
      {"PUT", "/api", R"({"prompts": ["x"], "logprobs": "yes"})", 400, "logprobs"},
      {"PUT", "/api", R"({"prompts": ["x"], "tokens_to_generate": 0})", 400, "logprobs"},
      {"PUT", "/api", R"({"prompts": ["x"], "max_len": 5})", 400, "max_len"},
      {"PUT", "/api", R"({"prompts": ["x"], "random_seed": -5})", 400, "random_seed"},
      {"POST", "/v1/completions", R"({"max_tokens": 3})", 400, "prompt"},
      {"POST", "/v1/completions", R"({"prompt": 5})", 400, "prompt"},
      {"POST", "/v1/completions", R"({"prompt": "x", "max_tokens": -3})", 400, "max_tokens"},
      {"POST", "/v1/completions", R"({"prompt": "x", "max_tokens": 99999999999999999999})", 400,
       "max_tokens"},
      {"POST", "/v1/completions", R"({"prompt": "x", "max_tokens": 1.5})", 400, "max_tokens"},
      {"POST", "/v1/completions", R"({"prompt": "x", "stream": "yes"})", 400, "stream"},
      {"POST", "/v1/completions", R"({"prompt": "x", "n": 2})", 400, "n"},
      {"POST", "/v1/completions", R"({"prompt": "x", "stop": ["", "a"]})", 400, "stop"},
      {"POST", "/v1/completions", R"({"prompt": "x", "temperature": -1})", 400, "temperature"},
      {"POST", "/v1/completions", R"({"prompt": "x", "foo": 1})", 400, "foo"},
      {"POST", "/v1/completions", R"({"prompt": [1, 999]})", 400, "prompt"},
      {"POST", "/v1/chat/completions", R"({"messages": []})", 400, "messages"},
      {"POST", "/v1/chat/completions", R"({"messages": [{"role": "robot", "content": "x"}]})", 400,
       "messages.role"},
      {"POST", "/v1/loglikelihood", R"({"requests": [{"context": "a"}]})", 400,
       "requests.continuation"},
      {"POST", "/v1/completions", R"({"prompt": ")" + std::string(5000, 'a') + R"("})", 413,
       "body"},
      {"GET", "/nope", "", 404, ""},
  };
}

TEST_CASE("every bad request gets a 4xx JSON error naming the field and the server keeps serving") {
  serve::ServeOptions options;
  options.max_body_bytes = 4096;
  test::ServeFixture fx(options);
  for (const BadRequest& bad : bad_requests()) {
    INFO(bad.method << " " << bad.path << " " << bad.body.substr(0, 80));
    auto client = fx.client();
    const std::string method = bad.method;
    const auto res = method == "PUT"   ? client.Put(bad.path, bad.body, "application/json")
                     : method == "GET" ? client.Get(bad.path)
                                       : client.Post(bad.path, bad.body, "application/json");
    REQUIRE(res);
    CHECK(res->status == bad.status);
    const json error = json::parse(res->body);
    const json param = std::string(bad.field).empty() ? json(nullptr) : json(bad.field);
    CHECK(error["error"]["param"] == param);
    CHECK(error["error"]["type"] == "invalid_request_error");
    CHECK(!error["message"].get<std::string>().empty());
  }
  const auto health = fx.client().Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  const auto good = fx.client().Post("/v1/completions", R"({"prompt": "x", "max_tokens": 2})",
                                     "application/json");
  REQUIRE(good);
  CHECK(good->status == 200);
}

TEST_CASE("a full queue answers 503 and the queued requests still complete") {
  serve::ServeOptions options;
  options.queue_limit = 2;
  test::ServeFixture fx(options);
  fx.server().scheduler().hold();
  auto post = [&] {
    const auto res = fx.client().Post("/v1/completions", R"({"prompt": "q", "max_tokens": 3})",
                                      "application/json");
    return res ? res->status : -1;
  };
  auto first = std::async(std::launch::async, post);
  auto second = std::async(std::launch::async, post);
  for (int i = 0; i < 500 && fx.server().scheduler().queued() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(fx.server().scheduler().queued() == 2);
  const auto refused = fx.client().Post("/v1/completions", R"({"prompt": "q", "max_tokens": 3})",
                                        "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(json::parse(refused->body)["error"]["type"] == "server_busy");
  const auto streamed = fx.client().Post(
      "/v1/completions", R"({"prompt": "q", "max_tokens": 3, "stream": true})", "application/json");
  REQUIRE(streamed);
  CHECK(streamed->status == 503);
  fx.server().scheduler().resume();
  CHECK(first.get() == 200);
  CHECK(second.get() == 200);
}

}  // namespace
}  // namespace me
