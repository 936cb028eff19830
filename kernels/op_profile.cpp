// The op time table behind ME_PROFILE_OPS: a mutex-guarded map, printed once at exit.
#include "kernels/op_profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#ifdef ME_WITH_CUDA
#include "kernels/cuda/device_sync.h"
#endif

namespace me {
namespace {

struct OpTotals {
  int64_t calls = 0;
  double seconds = 0.0;
};

std::mutex& table_mutex() {
  static auto* mutex = new std::mutex();
  return *mutex;
}

std::map<std::string, OpTotals>& table() {
  static auto* totals = new std::map<std::string, OpTotals>();
  return *totals;
}

void print_table() {
  std::lock_guard<std::mutex> lock(table_mutex());
  std::vector<std::pair<std::string, OpTotals>> rows(table().begin(), table().end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  double total = 0.0;
  for (const auto& row : rows) total += row.second.seconds;
  std::fprintf(stderr, "op profile (ME_PROFILE_OPS): %.1f ms in ops\n", 1e3 * total);
  std::fprintf(stderr, "  %-28s %10s %12s %7s\n", "op", "calls", "total ms", "share");
  for (const auto& [op, t] : rows) {
    std::fprintf(stderr, "  %-28s %10lld %12.1f %6.1f%%\n", op.c_str(),
                 static_cast<long long>(t.calls), 1e3 * t.seconds,
                 total > 0 ? 100.0 * t.seconds / total : 0.0);
  }
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void synchronize() {
#ifdef ME_WITH_CUDA
  cuda::synchronize_current_device();
#endif
}

}  // namespace

bool op_profiling_enabled() {
  static const bool enabled = [] {
    const char* flag = std::getenv("ME_PROFILE_OPS");
    const bool on = flag != nullptr && std::string(flag) == "1";
    if (on) std::atexit(print_table);
    return on;
  }();
  return enabled;
}

void reset_op_profile() {
  std::lock_guard<std::mutex> lock(table_mutex());
  table().clear();
}

OpProfileScope::OpProfileScope(const char* op) : op_(op) {
  if (!op_profiling_enabled()) return;
  synchronize();
  start_ = now_seconds();
}

OpProfileScope::~OpProfileScope() {
  if (!op_profiling_enabled()) return;
  synchronize();
  const double elapsed = now_seconds() - start_;
  std::lock_guard<std::mutex> lock(table_mutex());
  OpTotals& t = table()[op_];
  ++t.calls;
  t.seconds += elapsed;
}

}  // namespace me
