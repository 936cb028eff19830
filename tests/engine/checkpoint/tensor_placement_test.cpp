// Placement arithmetic: runs of sharded and pieced tensors (hand-computed and against
// Partition::full_index), copy plans that rebuild a full tensor from any overlapping shards, and
// flat ranges cut into hyperslab boxes.
#include <doctest/doctest.h>

#include <numeric>

#include "engine/checkpoint/tensor_placement.h"

using namespace me;

namespace {

bool same_runs(const std::vector<Run>& got, const std::vector<Run>& want) {
  if (got.size() != want.size()) return false;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].held != want[i].held || got[i].global != want[i].global ||
        got[i].length != want[i].length) {
      return false;
    }
  }
  return true;
}

// Every held element's run position agrees with Partition::full_index (written independently).
void check_against_full_index(const Placement& p) {
  const Shape local = p.local_shape();
  int64_t seen = 0;
  for (const Run& r : placement_runs(p)) {
    for (int64_t i = 0; i < r.length; ++i) {
      REQUIRE(p.partition.full_index(local, p.begin + r.held + i) == r.global + i);
    }
    seen += r.length;
  }
  CHECK(seen == p.size());
}

// The full tensor's values are their flat indices; a source holds its elements of them. Applying
// the plan must give the target exactly its elements of the full tensor.
void check_plan_rebuilds(const Placement& target, const std::vector<Placement>& sources) {
  std::vector<std::vector<float>> held;
  for (const Placement& s : sources) {
    std::vector<float> values(static_cast<size_t>(s.size()));
    for (const Run& r : placement_runs(s)) {
      for (int64_t i = 0; i < r.length; ++i) values[r.held + i] = static_cast<float>(r.global + i);
    }
    held.push_back(values);
  }
  const CopyPlan plan = plan_copies(target, sources);
  REQUIRE(plan.missing == 0);
  std::vector<float> out(static_cast<size_t>(target.size()), -1.0f);
  int64_t copied = 0;
  for (size_t s = 0; s < sources.size(); ++s) {
    for (const Copy& c : plan.per_source[s]) {
      for (int64_t i = 0; i < c.length; ++i) out[c.to + i] = held[s][c.from + i];
      copied += c.length;
    }
  }
  CHECK(copied == target.size());  // each element once, even from overlapping sources
  for (const Run& r : placement_runs(target)) {
    for (int64_t i = 0; i < r.length; ++i) {
      REQUIRE(out[r.held + i] == static_cast<float>(r.global + i));
    }
  }
}

}  // namespace

TEST_CASE("placement runs of a column shard a fused row shard and a piece are hand-computed") {
  // [4, 6] split along dim 1 over 2 ranks, rank 1: columns 3..5 of every row.
  const Placement cols = Placement::whole({4, 6}, Partition{1, 1, 2});
  CHECK(cols.local_shape() == Shape{4, 3});
  CHECK(same_runs(placement_runs(cols), {{0, 3, 3}, {3, 9, 3}, {6, 15, 3}, {9, 21, 3}}));
  // [8, 3] as [gate | up] halves split along dim 0 over 2 ranks, rank 1: rows 2-3 and 6-7.
  const Placement fused = Placement::whole({8, 3}, Partition{0, 1, 2, {4, 4}});
  CHECK(same_runs(placement_runs(fused), {{0, 6, 6}, {6, 18, 6}}));
  // Elements [4, 10) of that shard: the last row of the gate block, then the first two of up.
  const Placement piece{{8, 3}, Partition{0, 1, 2, {4, 4}}, 4, 10};
  CHECK(same_runs(placement_runs(piece), {{0, 10, 2}, {2, 18, 4}}));
  CHECK(same_runs(placement_runs(Placement::whole({5, 2})), {{0, 0, 10}}));
  for (const Placement& p :
       {cols, fused, piece, Placement{{6, 4, 2}, Partition{1, 0, 2, {2, 2}}, 3, 14}}) {
    check_against_full_index(p);
  }
}

TEST_CASE("copy plans rebuild any shard from shards of another tp size and from pieces") {
  const Shape g{8, 16};
  auto shards = [&](int dim, int64_t size, int64_t chunks) {
    std::vector<Placement> out;
    for (int64_t r = 0; r < size; ++r)
      out.push_back(Placement::whole(g, Partition{dim, r, size, equal_blocks(chunks, g[dim])}));
    return out;
  };
  for (int dim : {0, 1}) {
    for (int64_t chunks : {1, 2}) {
      CAPTURE(dim);
      CAPTURE(chunks);
      const auto tp2 = shards(dim, 2, chunks);
      check_plan_rebuilds(Placement::whole(g), tp2);                                  // tp 2 -> 1
      for (const Placement& t : shards(dim, 4, chunks)) check_plan_rebuilds(t, tp2);  // 2 -> 4
      for (const Placement& t : tp2) check_plan_rebuilds(t, {Placement::whole(g)});   // 1 -> 2
      // Distributed-optimizer pieces of tp 2 shards (split at odd places) into a tp 4 piece.
      std::vector<Placement> pieces;
      for (const Placement& s : tp2) {
        pieces.push_back({g, s.partition, 0, 7});
        pieces.push_back({g, s.partition, 7, s.end});
      }
      check_plan_rebuilds({g, Partition{dim, 3, 4, equal_blocks(chunks, g[dim])}, 5, 19}, pieces);
    }
  }
  // A replicated tensor stored by two ranks, and a tied copy: each element is read once.
  check_plan_rebuilds(Placement::whole(g), {Placement::whole(g), Placement::whole(g)});
}

TEST_CASE("placement runs and copy plans of unequal fused blocks") {
  // [10, 2] as blocks of 4, 2 and 4 rows over 2 ranks, rank 1: rows 2-3, 5 and 8-9.
  const Placement rank1 = Placement::whole({10, 2}, Partition{0, 1, 2, {4, 2, 4}});
  CHECK(rank1.local_shape() == Shape{5, 2});
  CHECK(same_runs(placement_runs(rank1), {{0, 4, 4}, {4, 10, 2}, {6, 16, 4}}));
  // Elements [3, 8) of it: the end of block 0, block 1, the start of block 2.
  CHECK(same_runs(placement_runs({{10, 2}, Partition{0, 1, 2, {4, 2, 4}}, 3, 8}),
                  {{0, 7, 1}, {1, 10, 2}, {3, 16, 2}}));
  // Blocks along dim 1 of a 3-d tensor, and pieces of them.
  const Shape g{3, 16, 2};
  const std::vector<int64_t> blocks = {8, 4, 4};  // split over 2 or 4 ranks
  auto shards = [&](int64_t size) {
    std::vector<Placement> out;
    for (int64_t r = 0; r < size; ++r)
      out.push_back(Placement::whole(g, Partition{1, r, size, blocks}));
    return out;
  };
  for (const Placement& p : shards(4)) check_against_full_index(p);
  check_against_full_index({g, Partition{1, 1, 2, blocks}, 5, 37});
  const auto tp2 = shards(2);
  check_plan_rebuilds(Placement::whole(g), tp2);                                 // tp 2 -> 1
  for (const Placement& t : shards(4)) check_plan_rebuilds(t, tp2);              // 2 -> 4
  for (const Placement& t : tp2) check_plan_rebuilds(t, {Placement::whole(g)});  // 1 -> 2
  std::vector<Placement> pieces;
  for (const Placement& s : tp2) {
    pieces.push_back({g, s.partition, 0, 9});
    pieces.push_back({g, s.partition, 9, s.end});
  }
  check_plan_rebuilds({g, Partition{1, 2, 4, blocks}, 3, 20}, pieces);
  // Another block layout of the same full tensor still rebuilds it: placements meet in the full
  // tensor's flat index space.
  check_plan_rebuilds(Placement::whole(g, Partition{1, 0, 2, {4, 12}}), tp2);
}

TEST_CASE("a copy plan counts the elements no source holds and names the first") {
  const Shape g{8, 3};
  const CopyPlan plan =
      plan_copies(Placement::whole(g), {Placement::whole(g, Partition{0, 0, 2, {4, 4}})});
  CHECK(plan.missing == 12);       // rank 1's rows 2-3 and 6-7
  CHECK(plan.first_missing == 6);  // row 2, column 0
  CHECK(plan_copies(Placement::whole(g), {}).missing == 24);
}

TEST_CASE("a flat range of a 3-d array becomes contiguous boxes in order") {
  // [3, 4, 5], elements [7, 57): the rest of row (0, 1), rows (0, 2..3), plane 1, rows (2, 0..2),
  // the first two of row (2, 3).
  const std::vector<Box> boxes = flat_range_boxes({3, 4, 5}, 7, 50);
  REQUIRE(boxes.size() == 5);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> want = {
      {{0, 1, 2}, {1, 1, 3}},
      {{0, 2, 0}, {1, 2, 5}},
      {{1, 0, 0}, {1, 4, 5}},
      {{2, 0, 0}, {1, 3, 5}},
      {{2, 3, 0}, {1, 1, 2}}};
  for (size_t i = 0; i < boxes.size(); ++i) {
    CAPTURE(i);
    CHECK(boxes[i].start == want[i].first);
    CHECK(boxes[i].count == want[i].second);
  }
  CHECK(flat_range_boxes({3, 4, 5}, 0, 60).size() == 1);
  CHECK(flat_range_boxes({7}, 2, 3).size() == 1);
}
