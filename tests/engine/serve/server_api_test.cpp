// The server's endpoints through a real HTTP client on a loopback port: Megatron's PUT /api,
// OpenAI completions with and without streaming, chat, models, health, the page, log-likelihood,
// and 32 concurrent clients. Every answer is checked against the same rows generated in-process.
#include <nlohmann/json.hpp>

#include <cmath>

#include "engine/inference/generator.h"
#include "tests/engine/serve/serve_fixture.h"

namespace me {
namespace {

using nlohmann::json;

json ok_json(const httplib::Result& res) {
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

// The JSON payloads of a server-sent event stream, and whether it ended with [DONE].
std::vector<json> sse_events(const std::string& body, bool& done) {
  std::vector<json> events;
  done = false;
  size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const size_t end = body.find("\n\n", at);
    REQUIRE(end != std::string::npos);
    const std::string payload = body.substr(at + 6, end - at - 6);
    if (payload == "[DONE]") {
      done = true;
    } else {
      events.push_back(json::parse(payload));
    }
    at = end + 2;
  }
  return events;
}

TEST_CASE("PUT /api answers Megatron's response shape with prompt and generated tokens") {
  test::ServeFixture fx;
  const json body = {{"prompts", {"hello", "a longer prompt"}},
                     {"tokens_to_generate", 6},
                     {"top_k", 1},
                     {"logprobs", true}};
  const json out = ok_json(fx.client().Put("/api", body.dump(), "application/json"));
  for (size_t i = 0; i < 2; ++i) {
    const std::string prompt = body["prompts"][i];
    const GenerationResult want = fx.expected(test::greedy_request(prompt, 6));
    std::vector<int32_t> tokens = fx.tokenizer().encode(prompt);
    tokens.insert(tokens.end(), want.tokens.begin(), want.tokens.end());
    CHECK(out["tokens"][i].get<std::vector<int32_t>>() == tokens);
    CHECK(out["text"][i] == test::ServeFixture::wire(fx.tokenizer().decode(tokens)));
    CHECK(out["segments"][i].size() == tokens.size());
    const auto logprobs = out["logprobs"][i].get<std::vector<double>>();
    REQUIRE(logprobs.size() == tokens.size() - 1);
    for (size_t k = 0; k < want.logprobs.size(); ++k) {
      CHECK(logprobs[prompt.size() - 1 + k] == doctest::Approx(want.logprobs[k]));
    }
  }
}

TEST_CASE("POST /v1/completions answers a text_completion with usage") {
  test::ServeFixture fx;
  const json body = {{"prompt", "the cat"}, {"max_tokens", 7}, {"temperature", 0}};
  const json out = ok_json(fx.client().Post("/v1/completions", body.dump(), "application/json"));
  const GenerationResult want = fx.expected(test::greedy_request("the cat", 7));
  CHECK(out["object"] == "text_completion");
  CHECK(out["choices"][0]["text"] == test::ServeFixture::wire(fx.tokenizer().decode(want.tokens)));
  CHECK(out["choices"][0]["finish_reason"] == (want.stopped ? "stop" : "length"));
  CHECK(out["usage"]["prompt_tokens"] == 7);
  CHECK(out["usage"]["completion_tokens"] == want.tokens.size());
  CHECK(out["usage"]["total_tokens"] == 7 + want.tokens.size());
}

TEST_CASE("streamed completions add up to the whole completion and end with DONE") {
  test::ServeFixture fx;
  json body = {{"prompt", "stream me"},
               {"max_tokens", 12},
               {"temperature", 0},
               {"stream_options", {{"include_usage", true}}}};
  const json whole = ok_json(fx.client().Post("/v1/completions", body.dump(), "application/json"));
  body["stream"] = true;
  const auto res = fx.client().Post("/v1/completions", body.dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type").find("text/event-stream") == 0);
  bool done = false;
  const auto events = sse_events(res->body, done);
  CHECK(done);
  REQUIRE(events.size() >= 2);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) text += events[i]["choices"][0]["text"];
  CHECK(text == whole["choices"][0]["text"]);
  CHECK(events[events.size() - 2]["choices"][0]["finish_reason"] ==
        whole["choices"][0]["finish_reason"]);
  CHECK(events.back()["usage"] == whole["usage"]);
}

TEST_CASE("chat completions stream a role then content deltas") {
  test::ServeFixture fx;
  json body = {
      {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 5}, {"temperature", 0}};
  const json whole =
      ok_json(fx.client().Post("/v1/chat/completions", body.dump(), "application/json"));
  CHECK(whole["object"] == "chat.completion");
  CHECK(whole["choices"][0]["message"]["role"] == "assistant");
  const auto want = fx.expected(test::greedy_request("User: hi\nAssistant:", 5));
  CHECK(whole["usage"]["prompt_tokens"] == std::string("User: hi\nAssistant:").size());
  body["stream"] = true;
  bool done = false;
  const auto events = sse_events(
      fx.client().Post("/v1/chat/completions", body.dump(), "application/json")->body, done);
  CHECK(done);
  REQUIRE(!events.empty());
  CHECK(events[0]["object"] == "chat.completion.chunk");
  CHECK(events[0]["choices"][0]["delta"]["role"] == "assistant");
  std::string text;
  for (const auto& e : events) {
    if (e["choices"][0]["delta"].contains("content")) text += e["choices"][0]["delta"]["content"];
  }
  CHECK(text == whole["choices"][0]["message"]["content"]);
  CHECK(text ==
        test::ServeFixture::wire(fx.tokenizer().decode(want.tokens)).substr(0, text.size()));
}

TEST_CASE("models health and the web page answer") {
  test::ServeFixture fx;
  const json models = ok_json(fx.client().Get("/v1/models"));
  CHECK(models["object"] == "list");
  CHECK(models["data"][0]["id"] == "megatron-engine");
  CHECK(models["data"][0]["max_model_len"] == test::kServeContext);
  const json health = ok_json(fx.client().Get("/health"));
  CHECK(health ==
        json{{"status", "ok"}, {"service", "Megatron Inference Server"}, {"ready", true}});
  const auto page = fx.client().Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("/v1/completions") != std::string::npos);
  CHECK(page->body.find("<textarea") != std::string::npos);
}

TEST_CASE("log-likelihood sums the continuation's log-probs and says whether it is greedy") {
  test::ServeFixture fx;
  // A greedy continuation is greedy by construction; take a context whose greedy pair of bytes
  // is printable ASCII (JSON carries only UTF-8).
  std::string context;
  GenerationResult greedy;
  for (char a = 'a'; a <= 'z' && context.empty(); ++a) {
    for (char b = 'a'; b <= 'z' && context.empty(); ++b) {
      greedy = fx.expected(test::greedy_request(std::string{a, b}, 2));
      const bool printable = greedy.tokens.size() == 2 && greedy.tokens[0] >= 32 &&
                             greedy.tokens[0] < 127 && greedy.tokens[1] >= 32 &&
                             greedy.tokens[1] < 127;
      if (printable) context = std::string{a, b};
    }
  }
  REQUIRE(!context.empty());
  const std::string cont = fx.tokenizer().decode(greedy.tokens);
  const json body = {{"requests",
                      {{{"context", context}, {"continuation", cont}},
                       {{"context", "ab"}, {"continuation", "zz"}}}}};
  const json out = ok_json(fx.client().Post("/v1/loglikelihood", body.dump(), "application/json"));
  CHECK(out["results"][0]["is_greedy"] == true);
  CHECK(out["results"][0]["tokens"] == 2);
  CHECK(out["results"][0]["logprob"].get<double>() ==
        doctest::Approx(greedy.logprobs[0] + greedy.logprobs[1]).epsilon(1e-5));
  GenerationRequest scored = test::greedy_request("abzz", 0);
  scored.prompt_logprobs = true;
  const auto want = fx.expected(scored);
  CHECK(out["results"][1]["logprob"].get<double>() ==
        doctest::Approx(want.prompt_logprobs[1] + want.prompt_logprobs[2]).epsilon(1e-5));
  CHECK(out["results"][1]["is_greedy"] ==
        (want.prompt_top[1].token == 'z' && want.prompt_top[2].token == 'z'));
}

TEST_CASE("32 concurrent clients each get their own valid completion") {
  test::ServeFixture fx;
  constexpr int kClients = 32;
  std::vector<json> answers(kClients);
  std::vector<int> statuses(kClients, 0);
  std::vector<std::string> errors(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      const json body = {{"prompt", "client " + std::to_string(i)},
                         {"max_tokens", 4 + i % 5},
                         {"temperature", 0.8},
                         {"seed", 1000 + i}};
      const auto res = fx.client().Post("/v1/completions", body.dump(), "application/json");
      statuses[i] = res ? res->status : -1;
      if (!res) errors[i] = httplib::to_string(res.error());
      if (res && res->status == 200) answers[i] = json::parse(res->body);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) {
    INFO("client " << i << " " << errors[i]);
    REQUIRE(statuses[i] == 200);
    GenerationRequest r = test::greedy_request("client " + std::to_string(i), 4 + i % 5);
    r.sampling = {0.8, 0, 0.0, static_cast<uint64_t>(1000 + i)};
    const auto want = fx.expected(r);
    CHECK(answers[i]["choices"][0]["text"] ==
          test::ServeFixture::wire(fx.tokenizer().decode(want.tokens)));
  }
}

}  // namespace
}  // namespace me
