// The one thread that runs the model: requests from any number of HTTP threads wait in a bounded
// queue and are served in batches (every queued job that fits max_batch rows runs in one KV-cache
// generation), so concurrent clients share the model instead of taking turns.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/inference/generator.h"

namespace me::serve {

// Called on the scheduler thread for each accepted token: (index of the request in its job,
// token, log-prob).
using TokenCallback = std::function<void(size_t, int32_t, float)>;

class Scheduler {
 public:
  // max_batch: rows (prompts) per generation step; queue_limit: jobs waiting before submit
  // refuses.
  Scheduler(CausalLm& model, GenerationSetup setup, int64_t max_batch, int64_t queue_limit);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a job of already checked requests; nullopt when the queue is full (answer 503).
  std::optional<std::future<std::vector<GenerationResult>>> submit(
      std::vector<GenerationRequest> requests, TokenCallback on_token = {});

  // Holding: queued jobs wait until resume (draining a server; tests fill the queue with it).
  void hold();
  void resume();
  int64_t queued() const;

 private:
  struct Job {
    std::vector<GenerationRequest> requests;
    TokenCallback on_token;
    std::promise<std::vector<GenerationResult>> done;
  };

  void run();
  void run_batch(std::vector<Job>& batch);

  CausalLm& model_;
  GenerationSetup setup_;
  int64_t max_batch_;
  int64_t queue_limit_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool held_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace me::serve
