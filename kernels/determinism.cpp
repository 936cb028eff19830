// The process-wide determinism switch (an atomic: read by kernels on any thread).
#include "kernels/determinism.h"

#include <atomic>

namespace me {
namespace {

std::atomic<bool>& flag() {
  static std::atomic<bool> deterministic{true};
  return deterministic;
}

}  // namespace

bool deterministic_algorithms() { return flag().load(); }

void set_deterministic_algorithms(bool deterministic) { flag().store(deterministic); }

}  // namespace me
