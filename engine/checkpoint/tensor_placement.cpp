// Placement arithmetic: a shard's blocks as runs of the full tensor, the cover of a target by
// overlapping sources, and a flat range of an N-d array as contiguous hyperslabs.
#include "engine/checkpoint/tensor_placement.h"

#include <algorithm>
#include <limits>

#include "engine/core/error.h"

namespace me {
namespace {

// A source run placed in the full tensor, for the cover sweep.
struct Span {
  int64_t global = 0;
  int64_t end = 0;  // global + length
  int64_t held = 0;
  size_t source = 0;
};

void append_merged(std::vector<Copy>& copies, const Copy& c) {
  if (!copies.empty()) {
    Copy& last = copies.back();
    if (last.from + last.length == c.from && last.to + last.length == c.to) {
      last.length += c.length;
      return;
    }
  }
  copies.push_back(c);
}

}  // namespace

Placement Placement::whole(const Shape& global_shape, const Partition& partition) {
  Placement p{global_shape, partition, 0, 0};
  p.end = shape_numel(p.local_shape());
  return p;
}

Shape Placement::local_shape() const {
  if (!partition.sharded()) return global_shape;
  Shape local = global_shape;
  local.at(static_cast<size_t>(partition.dim)) /= partition.size;
  return local;
}

std::vector<Run> placement_runs(const Placement& p) {
  std::vector<Run> runs;
  auto add = [&](int64_t local, int64_t global, int64_t length) {
    const int64_t lo = std::max(local, p.begin), hi = std::min(local + length, p.end);
    if (lo >= hi) return;
    const Run run{lo - p.begin, global + (lo - local), hi - lo};
    if (!runs.empty() && runs.back().global + runs.back().length == run.global &&
        runs.back().held + runs.back().length == run.held) {
      runs.back().length += run.length;
    } else {
      runs.push_back(run);
    }
  };
  if (!p.partition.sharded()) {
    add(0, 0, shape_numel(p.global_shape));
    return runs;
  }
  const auto d = static_cast<size_t>(p.partition.dim);
  const Shape& g = p.global_shape;
  int64_t outer = 1, inner = 1;
  for (size_t i = 0; i < d; ++i) outer *= g[i];
  for (size_t i = d + 1; i < g.size(); ++i) inner *= g[i];
  const int64_t size = p.partition.size;
  ME_CHECK(g[d] % size == 0, "dimension {} of {} does not split into {} parts", d, shape_str(g),
           size);
  const std::vector<int64_t> blocks = p.partition.block_lengths(g[d]);
  const int64_t along = g[d] / size;  // the shard's length along the dimension
  for (int64_t o = 0; o < outer; ++o) {
    int64_t local_begin = 0, full_begin = 0;  // the block's start in the shard and the full tensor
    for (int64_t length : blocks) {
      const int64_t part = length / size;
      add((o * along + local_begin) * inner,
          (o * g[d] + full_begin + p.partition.rank * part) * inner, part * inner);
      local_begin += part;
      full_begin += length;
    }
  }
  return runs;
}

CopyPlan plan_copies(const Placement& target, const std::vector<Placement>& sources) {
  std::vector<Span> spans;
  for (size_t s = 0; s < sources.size(); ++s) {
    for (const Run& r : placement_runs(sources[s])) {
      spans.push_back({r.global, r.global + r.length, r.held, s});
    }
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.global != b.global ? a.global < b.global : a.source < b.source;
  });
  // reach[i]: the furthest end among spans[0..i], so a position past it has no cover there.
  std::vector<int64_t> reach(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    reach[i] = std::max(spans[i].end, i > 0 ? reach[i - 1] : std::numeric_limits<int64_t>::min());
  }
  CopyPlan plan;
  plan.per_source.resize(sources.size());
  for (const Run& t : placement_runs(target)) {
    const int64_t stop = t.global + t.length;
    for (int64_t pos = t.global; pos < stop;) {
      // The last span starting at or before pos; walk back to one that covers pos.
      auto it = std::upper_bound(spans.begin(), spans.end(), pos,
                                 [](int64_t v, const Span& s) { return v < s.global; });
      auto i = static_cast<int64_t>(it - spans.begin()) - 1;
      if (i >= 0 && reach[static_cast<size_t>(i)] > pos) {
        while (spans[static_cast<size_t>(i)].end <= pos) --i;
        const Span& s = spans[static_cast<size_t>(i)];
        const int64_t take = std::min(s.end, stop) - pos;
        append_merged(plan.per_source[s.source],
                      {s.held + (pos - s.global), t.held + (pos - t.global), take});
        pos += take;
        continue;
      }
      const int64_t next = it == spans.end() ? stop : std::min(it->global, stop);
      if (plan.first_missing < 0) plan.first_missing = pos;
      plan.missing += next - pos;
      pos = next;
    }
  }
  for (auto& copies : plan.per_source) {
    std::sort(copies.begin(), copies.end(),
              [](const Copy& a, const Copy& b) { return a.from < b.from; });
    std::vector<Copy> merged;
    for (const Copy& c : copies) append_merged(merged, c);
    copies = std::move(merged);
  }
  return plan;
}

std::vector<Box> flat_range_boxes(const Shape& shape, int64_t begin, int64_t count) {
  const size_t n = shape.size();
  ME_CHECK(n > 0, "a flat range of a scalar");
  std::vector<int64_t> stride(n, 1);  // elements per step of each dimension
  for (size_t i = n; i-- > 1;) stride[i - 1] = stride[i] * shape[i];
  std::vector<Box> boxes;
  while (count > 0) {
    std::vector<int64_t> index(n);
    for (size_t i = 0; i < n; ++i) index[i] = begin / stride[i] % shape[i];
    // The outermost dimension j whose inner dimensions start at zero and fit whole in the count:
    // the box spans a run of j and all of the dimensions after it.
    size_t j = n - 1;
    for (size_t k = 0; k < n; ++k) {
      if (begin % stride[k] == 0 && count >= stride[k]) {
        j = k;
        break;
      }
    }
    Box box{index, std::vector<int64_t>(n, 1)};
    box.count[j] = std::min(shape[j] - index[j], count / stride[j]);
    for (size_t k = j + 1; k < n; ++k) box.count[k] = shape[k];
    begin += box.numel();
    count -= box.numel();
    boxes.push_back(std::move(box));
  }
  return boxes;
}

}  // namespace me
