// The shared generation path of the endpoints.
#include "engine/serve/serve_context.h"

#include <random>

#include "engine/serve/request_error.h"

namespace me::serve {

void check_requests(const ServeContext& ctx, const std::vector<GenerationRequest>& requests,
                    const std::string& prompt_field, const std::string& count_field) {
  for (const auto& r : requests) {
    try {
      check_request(r, ctx.setup);
    } catch (const RequestError&) {
      throw;
    } catch (const Error& e) {
      const std::string field = e.where() == "tokens_to_generate" ? count_field
                                : e.where() == "prompt"           ? prompt_field
                                                                  : e.where();
      throw RequestError(e.message(), field);
    }
  }
}

std::vector<GenerationResult> run_job(const ServeContext& ctx,
                                      std::vector<GenerationRequest> requests,
                                      TokenCallback on_token) {
  auto future = ctx.scheduler.submit(std::move(requests), std::move(on_token));
  if (!future) throw RequestError("the server is busy: the request queue is full", "", 503);
  return future->get();
}

uint64_t fresh_seed() {
  static std::random_device device;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  return (static_cast<uint64_t>(device()) << 32) | device();
}

}  // namespace me::serve
