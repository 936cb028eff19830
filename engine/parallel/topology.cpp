// Rank coordinates from the recipe's parallel sizes.
#include "engine/parallel/topology.h"

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/recipe/recipe.h"

namespace me {

Topology Topology::build(const Recipe& recipe, int64_t world_size, int64_t rank) {
  Topology t;
  t.world_size = world_size;
  t.rank = rank;
  t.tp = recipe.parallel.tensor_model_parallel_size;
  t.cp = recipe.parallel.context_parallel_size;
  t.pp = recipe.parallel.pipeline_model_parallel_size;
  const int64_t model_parallel = t.tp * t.cp * t.pp;
  if (world_size % model_parallel != 0) {
    throw Error(fmt::format("world size {} is not divisible by tensor x context x pipeline "
                            "parallel size {} x {} x {}",
                            world_size, t.tp, t.cp, t.pp),
                "parallel");
  }
  t.dp = world_size / model_parallel;
  int64_t r = rank;
  t.tp_rank = r % t.tp;
  r /= t.tp;
  t.cp_rank = r % t.cp;
  r /= t.cp;
  t.dp_rank = r % t.dp;
  t.pp_rank = r / t.dp;
  return t;
}

int64_t Topology::rank_of(int64_t tp_r, int64_t cp_r, int64_t dp_r, int64_t pp_r) const {
  return tp_r + tp * (cp_r + cp * (dp_r + dp * pp_r));
}

std::string Topology::describe() const {
  return fmt::format("rank {}/{} (tp {}/{}, cp {}/{}, dp {}/{}, pp {}/{})", rank, world_size,
                     tp_rank, tp, cp_rank, cp, dp_rank, dp, pp_rank, pp);
}

}  // namespace me
