// Server: httplib routes around the endpoint functions. Each handler turns RequestError into its
// status, any other me::Error into 400 and anything else into 500, always as JSON; the error
// handler gives httplib's own refusals (404, 413 for oversized bodies) the same shape.
#include "engine/serve/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "engine/serve/loglikelihood_api.h"
#include "engine/serve/megatron_api.h"
#include "engine/serve/openai_response.h"
#include "engine/serve/request_error.h"
#include "engine/serve/web_page.h"

namespace me::serve {
namespace {

constexpr const char* kJson = "application/json";

void send_error(httplib::Response& res, int status, const std::string& message,
                const std::string& field) {
  res.status = status;
  nlohmann::json param = field.empty() ? nlohmann::json(nullptr) : nlohmann::json(field);
  const nlohmann::json body = {{"error",
                                {{"message", message},
                                 {"type", status == 503   ? "server_busy"
                                          : status >= 500 ? "server_error"
                                                          : "invalid_request_error"},
                                 {"param", param},
                                 {"code", status}}},
                               {"message", field.empty() ? message : field + ": " + message}};
  res.set_content(dump_json(body), kJson);
}

// Runs an endpoint, answering its JSON or its error.
template <typename Fn>
void answer(httplib::Response& res, Fn&& fn) {
  try {
    res.set_content(dump_json(fn()), kJson);
  } catch (const RequestError& e) {
    send_error(res, e.status(), e.message(), e.where());
  } catch (const Error& e) {
    send_error(res, 400, e.message(), e.where());
  } catch (const std::exception& e) {
    spdlog::error("request failed: {}", e.what());
    send_error(res, 500, e.what(), "");
  }
}

// The events of one streamed response, filled by the scheduler thread, drained by the HTTP one.
struct StreamState {
  StreamState(const ServeContext& ctx, CompletionJob j, std::string id)
      : job(std::move(j)), stream(ctx, job, std::move(id)) {}
  CompletionJob job;
  CompletionStream stream;
  std::mutex mutex;
  std::condition_variable ready;
  std::string pending;
  std::future<std::vector<GenerationResult>> results;
};

}  // namespace

Server::Server(CausalLm& model, const Tokenizer& tokenizer, GenerationSetup setup,
               ServeOptions options)
    : options_(std::move(options)),
      tokenizer_(tokenizer),
      setup_(std::move(setup)),
      scheduler_(model, setup_, options_.max_batch, options_.queue_limit),
      ctx_{options_, tokenizer_, setup_, scheduler_},
      http_(std::make_unique<httplib::Server>()) {
  const size_t threads = static_cast<size_t>(std::max<int64_t>(8, options_.queue_limit + 8));
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });
  const httplib::Server::HandlerWithResponse on_error = [](const httplib::Request&,
                                                           httplib::Response& res) {
    if (res.body.empty()) {
      const std::string reason = res.status == 413   ? "the request body is too large"
                                 : res.status == 404 ? "no such endpoint"
                                                     : "refused by the HTTP layer";
      send_error(res, res.status, reason, res.status == 413 ? "body" : "");
    }
    return httplib::Server::HandlerResponse::Handled;
  };
  http_->set_error_handler(on_error);
  add_routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    if (port < 0) throw Error("cannot bind " + options_.host, "--host");
  } else if (!http_->bind_to_port(options_.host, port)) {
    throw Error(fmt::format("cannot bind {}:{} (in use?)", options_.host, port), "--port");
  }
  // httplib 0.11 listens with a backlog of 5: a burst of clients overflows it and some
  // connections are reset. Listening again on the bound socket raises the backlog (Linux).
  if (listen_socket_ >= 0) ::listen(listen_socket_, SOMAXCONN);
  return port;
}

void Server::listen() { http_->listen_after_bind(); }

void Server::stop() { http_->stop(); }

void Server::add_routes() {
  http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(web_page_html(), "text/html; charset=utf-8");
  });
  auto health = [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok","service":"Megatron Inference Server","ready":true})", kJson);
  };
  http_->Get("/health", health);
  http_->Get("/v1/health", health);
  http_->Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    answer(res, [&] {
      return nlohmann::json{{"object", "list"},
                            {"data",
                             {{{"id", options_.model_name},
                               {"object", "model"},
                               {"created", static_cast<int64_t>(std::time(nullptr))},
                               {"owned_by", "megatron-engine"},
                               {"max_model_len", setup_.max_positions}}}}};
    });
  });
  http_->Put("/api", [this](const httplib::Request& req, httplib::Response& res) {
    answer(res, [&] { return megatron_generate(ctx_, req.body); });
  });
  http_->Post("/v1/loglikelihood", [this](const httplib::Request& req, httplib::Response& res) {
    answer(res, [&] { return loglikelihood(ctx_, req.body); });
  });
  add_completion_route("/v1/completions", false);
  add_completion_route("/v1/chat/completions", true);
}

void Server::add_completion_route(const char* path, bool chat) {
  http_->Post(path, [this, chat](const httplib::Request& req, httplib::Response& res) {
    const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_id_++);
    std::shared_ptr<StreamState> state;
    answer(res, [&] {
      CompletionJob job = chat ? parse_chat(ctx_, req.body) : parse_completion(ctx_, req.body);
      if (!job.stream) return completion_response(ctx_, job, run_job(ctx_, job.requests), id);
      state = std::make_shared<StreamState>(ctx_, std::move(job), id);
      state->pending = state->stream.start();
      auto future = scheduler_.submit(state->job.requests, [state](size_t i, int32_t t, float) {
        std::string events = state->stream.on_token(i, t);
        if (events.empty()) return;
        std::lock_guard lock(state->mutex);
        state->pending += events;
        state->ready.notify_one();
      });
      if (!future) throw RequestError("the server is busy: the request queue is full", "", 503);
      state->results = std::move(*future);
      return nlohmann::json(nullptr);
    });
    if (!state || res.status >= 400) return;
    res.body.clear();
    res.headers.erase("Content-Type");
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [state](size_t, httplib::DataSink& sink) {
      std::unique_lock lock(state->mutex);
      state->ready.wait_for(lock, std::chrono::milliseconds(20));
      std::string events = std::move(state->pending);
      state->pending.clear();
      lock.unlock();
      const bool finished =
          state->results.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      if (finished) {
        lock.lock();  // the last on_token may have landed after the swap above
        events += std::move(state->pending);
        lock.unlock();
        try {
          events += state->stream.finish(state->results.get());
        } catch (const std::exception& e) {
          events += "data: " + dump_json({{"error", {{"message", e.what()}}}}) + "\n\n";
        }
      }
      if (!events.empty() && !sink.write(events.data(), events.size())) return false;
      if (finished) sink.done();
      return true;
    });
  });
}

}  // namespace me::serve
