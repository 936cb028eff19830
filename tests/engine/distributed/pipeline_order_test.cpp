// Pipeline orders against hand-derived Megatron schedules (1F1B and interleaved, pp 2, 4
// micro-batches), and a simulation of every rank with buffered sends, blocking receives and one
// FIFO per (sender, receiver, direction): every layout runs to completion without deadlock, each
// receive takes the message meant for it, and each chunk's backward follows its forward.
#include <doctest/doctest.h>

#include <cstddef>
#include <deque>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "engine/distributed/pipeline_order.h"

using namespace me;

namespace {

using Kind = PipelineAction::Kind;

PipelineAction f(int64_t m, int64_t c = 0) { return {Kind::kForward, m, c}; }
PipelineAction b(int64_t m, int64_t c = 0) { return {Kind::kBackward, m, c}; }

// Runs all ranks' orders; returns false on a deadlock. A message is (micro-batch, model stage).
bool simulate(int64_t pp, int64_t vpp, int64_t m, bool forward_only) {
  const int64_t last = pp * vpp - 1;
  std::vector<std::vector<PipelineAction>> orders;
  for (int64_t r = 0; r < pp; ++r) orders.push_back(pipeline_order(pp, r, vpp, m, forward_only));
  std::vector<std::size_t> next(static_cast<std::size_t>(pp), 0);
  std::map<std::tuple<int64_t, int64_t, bool>, std::deque<std::pair<int64_t, int64_t>>> channels;
  std::set<std::pair<int64_t, int64_t>> forwarded, backwarded;
  bool progress = true;
  while (progress) {
    progress = false;
    for (int64_t r = 0; r < pp; ++r) {
      auto& i = next[static_cast<std::size_t>(r)];
      if (i == orders[static_cast<std::size_t>(r)].size()) continue;
      const PipelineAction& a = orders[static_cast<std::size_t>(r)][i];
      const int64_t s = a.chunk * pp + r;
      const bool fwd = a.forward();
      if (fwd ? s > 0 : s < last) {  // receive from the neighbour that produced the input
        const int64_t from = (r + (fwd ? pp - 1 : 1)) % pp;
        auto& q = channels[{from, r, fwd}];
        if (q.empty()) continue;  // blocked
        CHECK(q.front() == std::pair{a.microbatch, fwd ? s - 1 : s + 1});
        q.pop_front();
      }
      if (fwd) {
        CHECK(forwarded.insert({a.microbatch, s}).second);
      } else {
        CHECK(forwarded.count({a.microbatch, s}) == 1);
        CHECK(backwarded.insert({a.microbatch, s}).second);
      }
      if (fwd ? s < last : s > 0) {
        const int64_t to = (r + (fwd ? 1 : pp - 1)) % pp;
        channels[{r, to, fwd}].push_back({a.microbatch, s});
      }
      ++i;
      progress = true;
    }
  }
  for (int64_t r = 0; r < pp; ++r) {
    if (next[static_cast<std::size_t>(r)] != orders[static_cast<std::size_t>(r)].size())
      return false;
  }
  CHECK(forwarded.size() == static_cast<std::size_t>(m * (last + 1)));
  CHECK(backwarded.size() == (forward_only ? 0 : static_cast<std::size_t>(m * (last + 1))));
  return true;
}

}  // namespace

TEST_CASE("1F1B at pp 2 with 4 micro-batches is Megatron's warm-up steady cool-down order") {
  CHECK(pipeline_order(2, 0, 1, 4, false) ==
        std::vector{f(0), f(1), b(0), f(2), b(1), f(3), b(2), b(3)});
  CHECK(pipeline_order(2, 1, 1, 4, false) ==
        std::vector{f(0), b(0), f(1), b(1), f(2), b(2), f(3), b(3)});
  // Fewer micro-batches than stages: all warm-up on the first rank.
  CHECK(pipeline_order(4, 0, 1, 2, false) == std::vector{f(0), f(1), b(0), b(1)});
  CHECK(pipeline_order(2, 0, 1, 3, true) == std::vector{f(0), f(1), f(2)});
}

TEST_CASE("interleaved 1F1B at pp 2 vpp 2 with 4 micro-batches follows Megatron's chunk ids") {
  // Rank 0 warms up (2 - 0 - 1) * 2 + (2 - 1) * 2 = 4 virtual micro-batches, rank 1 two.
  CHECK(pipeline_order(2, 0, 2, 4, false) ==
        std::vector{f(0, 0), f(1, 0), f(0, 1), f(1, 1), f(2, 0), b(0, 1), f(3, 0), b(1, 1), f(2, 1),
                    b(0, 0), f(3, 1), b(1, 0), b(2, 1), b(3, 1), b(2, 0), b(3, 0)});
  CHECK(pipeline_order(2, 1, 2, 4, false) ==
        std::vector{f(0, 0), f(1, 0), f(0, 1), b(0, 1), f(1, 1), b(1, 1), f(2, 0), b(0, 0), f(3, 0),
                    b(1, 0), f(2, 1), b(2, 1), f(3, 1), b(3, 1), b(2, 0), b(3, 0)});
  // num_microbatches == pp: every forward first.
  CHECK(pipeline_order(2, 1, 2, 2, false) ==
        std::vector{f(0, 0), f(1, 0), f(0, 1), f(1, 1), b(0, 1), b(1, 1), b(0, 0), b(1, 0)});
}

TEST_CASE("every schedule runs to completion on all ranks with buffered sends") {
  for (int64_t pp : {2, 3, 4}) {
    for (int64_t vpp : {1, 2, 3}) {
      for (int64_t m : {1, 2, 3, 4, 6, 8, 12}) {
        if (vpp > 1 && m % pp != 0) continue;  // the recipe rules refuse these
        for (bool forward_only : {false, true}) {
          CAPTURE(pp);
          CAPTURE(vpp);
          CAPTURE(m);
          CAPTURE(forward_only);
          CHECK(simulate(pp, vpp, m, forward_only));
        }
      }
    }
  }
}
