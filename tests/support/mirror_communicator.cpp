// MirrorCommunicator: the peer's contribution equals ours, so each collective is a local rewrite.
#include "tests/support/mirror_communicator.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "engine/core/error.h"

namespace me::test {
namespace {

// Runs its action when first waited on (or destroyed).
class Deferred final : public PendingCollective {
 public:
  explicit Deferred(std::function<void()> act) : act_(std::move(act)) {}
  ~Deferred() override { wait(); }
  void wait() override {
    if (act_) std::exchange(act_, nullptr)();
  }
  bool ready() override { return !act_; }

 private:
  std::function<void()> act_;
};

}  // namespace

void MirrorCommunicator::all_reduce_sum(double* values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) values[i] *= 2;
}

void MirrorCommunicator::all_reduce_sum(float* values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) values[i] *= 2;
}

void MirrorCommunicator::reduce_scatter_sum(float* values, int64_t count) {
  all_reduce_sum(values, count / 2);  // the rest is unspecified, as with a real reduce-scatter
}

void MirrorCommunicator::all_gather(float* values, int64_t count) {
  std::copy(values, values + count / 2, values + count / 2);
}

void MirrorCommunicator::abort(int exit_code) { throw Error(fmt::format("abort({})", exit_code)); }

std::unique_ptr<PendingCollective> MirrorCommunicator::start_all_reduce_sum(float* values,
                                                                            int64_t count) {
  return started(
      values, [=, this] { all_reduce_sum(values, count); }, count);
}

std::unique_ptr<PendingCollective> MirrorCommunicator::start_reduce_scatter_sum(float* values,
                                                                                int64_t count) {
  return started(
      values, [=, this] { reduce_scatter_sum(values, count); }, count);
}

std::unique_ptr<PendingCollective> MirrorCommunicator::start_all_gather(float* values,
                                                                        int64_t count) {
  return started(
      values, [=, this] { all_gather(values, count); }, count);
}

std::unique_ptr<PendingCollective> MirrorCommunicator::started(float* values,
                                                               std::function<void()> act,
                                                               int64_t count) {
  const int64_t offset = values - base_;
  log_.push_back(fmt::format("start {}", offset));
  if (on_start) on_start(offset, count);
  return std::make_unique<Deferred>([this, offset, act = std::move(act)] {
    log_.push_back(fmt::format("wait {}", offset));
    act();
  });
}

}  // namespace me::test
