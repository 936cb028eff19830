// The straggler table: one all-reduce of a world-size vector, then a stable sort by time.
#include "engine/train/straggler_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

namespace me {

double compute_ms(const std::vector<TimerReading>& readings) {
  double ms = 0.0;
  for (const TimerReading& r : readings) {
    if (r.name == "forward-compute" || r.name == "backward-compute" || r.name == "optimizer") {
      ms += r.local_ms_per_iteration;
    }
  }
  return ms;
}

std::string straggler_table(const std::vector<double>& ms_by_rank, int64_t count) {
  ME_CHECK(!ms_by_rank.empty() && count > 0, "straggler table of {} ranks, count {}",
           ms_by_rank.size(), count);
  std::vector<size_t> order(ms_by_rank.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ms_by_rank[a] > ms_by_rank[b]; });
  const size_t shown = std::min(order.size(), static_cast<size_t>(count));
  auto list = [&](auto begin) {
    std::string out;
    for (size_t i = 0; i < shown; ++i) {
      const size_t rank = *(begin + static_cast<std::ptrdiff_t>(i));
      out += fmt::format("{}rank {} {:.1f} ms", i ? ", " : "", rank, ms_by_rank[rank]);
    }
    return out;
  };
  const double slowest = ms_by_rank[order.front()], fastest = ms_by_rank[order.back()];
  const double spread = fastest > 0.0 ? 100.0 * (slowest - fastest) / fastest : 0.0;
  return fmt::format("slowest: {} | fastest: {} | spread {:.1f}%", list(order.begin()),
                     list(order.rbegin()), spread);
}

std::string straggler_report(Communicator& comm, double local_ms, int64_t count) {
  std::vector<double> ms(static_cast<size_t>(comm.size()), 0.0);
  ms[static_cast<size_t>(comm.rank())] = local_ms;
  comm.all_reduce_sum(ms.data(), static_cast<int64_t>(ms.size()));
  return straggler_table(ms, count);
}

}  // namespace me
