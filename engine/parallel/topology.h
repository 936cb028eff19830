// Topology: which coordinates (tp, cp, dp, pp) this rank holds, in Megatron's rank order
// (tensor fastest, then context, data, pipeline). At world size one every group is this rank alone.
#pragma once

#include <cstdint>
#include <string>

namespace me {

struct Recipe;

struct Topology {
  int64_t world_size = 1;
  int64_t rank = 0;
  int64_t tp = 1, cp = 1, dp = 1, pp = 1;  // group sizes
  int64_t tp_rank = 0, cp_rank = 0, dp_rank = 0, pp_rank = 0;

  // rank = tp_rank + tp * (cp_rank + cp * (dp_rank + dp * pp_rank)) (megatron-facts 6.1).
  static Topology build(const Recipe& recipe, int64_t world_size, int64_t rank);
  int64_t rank_of(int64_t tp_r, int64_t cp_r, int64_t dp_r, int64_t pp_r) const;
  bool is_last_rank() const { return rank == world_size - 1; }
  std::string describe() const;  // "rank 3/8 (tp 1/2, cp 0/1, dp 1/2, pp 0/2)"
};

}  // namespace me
