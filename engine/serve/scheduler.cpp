// Scheduler: pop whole jobs while their rows fit max_batch (a larger job runs alone), generate
// them together, route tokens and results back per job. A failing batch fails only its own jobs.
#include "engine/serve/scheduler.h"

#include <spdlog/spdlog.h>

namespace me::serve {
namespace {
int64_t checked_batch(int64_t max_batch, int64_t queue_limit) {
  if (max_batch < 1) throw Error("must be >= 1", "--max-batch");
  if (queue_limit < 0) throw Error("must be >= 0", "--queue-limit");
  return max_batch;
}
}  // namespace

Scheduler::Scheduler(CausalLm& model, GenerationSetup setup, int64_t max_batch, int64_t queue_limit)
    : model_(model),
      setup_(std::move(setup)),
      max_batch_(checked_batch(max_batch, queue_limit)),
      queue_limit_(queue_limit),
      thread_([this] { run(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::optional<std::future<std::vector<GenerationResult>>> Scheduler::submit(
    std::vector<GenerationRequest> requests, TokenCallback on_token) {
  Job job{std::move(requests), std::move(on_token), {}};
  auto future = job.done.get_future();
  {
    std::lock_guard lock(mutex_);
    if (static_cast<int64_t>(queue_.size()) >= queue_limit_) return std::nullopt;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return future;
}

void Scheduler::hold() {
  std::lock_guard lock(mutex_);
  held_ = true;
}

void Scheduler::resume() {
  {
    std::lock_guard lock(mutex_);
    held_ = false;
  }
  wake_.notify_all();
}

int64_t Scheduler::queued() const {
  std::lock_guard lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

void Scheduler::run() {
  while (true) {
    std::vector<Job> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || (!held_ && !queue_.empty()); });
      if (stopping_) break;
      int64_t rows = 0;
      while (!queue_.empty()) {
        const int64_t n = static_cast<int64_t>(queue_.front().requests.size());
        if (!batch.empty() && rows + n > max_batch_) break;
        rows += n;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    run_batch(batch);
  }
  std::lock_guard lock(mutex_);
  for (Job& job : queue_) {
    job.done.set_exception(std::make_exception_ptr(Error("the server is shutting down")));
  }
}

void Scheduler::run_batch(std::vector<Job>& batch) {
  std::vector<GenerationRequest> requests;
  std::vector<std::pair<size_t, size_t>> owner;  // row -> (job, index in job)
  for (size_t j = 0; j < batch.size(); ++j) {
    for (size_t i = 0; i < batch[j].requests.size(); ++i) {
      requests.push_back(batch[j].requests[i]);
      owner.emplace_back(j, i);
    }
  }
  GenerationSetup setup = setup_;
  setup.on_token = [&](size_t row, int32_t token, float logprob) {
    const auto [j, i] = owner[row];
    if (batch[j].on_token) batch[j].on_token(i, token, logprob);
  };
  try {
    std::vector<GenerationResult> results = generate(model_, setup, requests);
    std::vector<std::vector<GenerationResult>> per_job(batch.size());
    for (size_t r = 0; r < results.size(); ++r) {
      per_job[owner[r].first].push_back(std::move(results[r]));
    }
    for (size_t j = 0; j < batch.size(); ++j) batch[j].done.set_value(std::move(per_job[j]));
  } catch (const std::exception& e) {
    spdlog::error("generation failed: {}", e.what());
    for (Job& job : batch) job.done.set_exception(std::current_exception());
  }
}

}  // namespace me::serve
