// Groups by MPI_Comm_split: the color is the rank with the group's own coordinate zeroed, which
// every member shares and no other group does; the key orders members by that coordinate.
#include "engine/parallel/parallel_groups.h"

#include "engine/core/error.h"

namespace me {

ParallelGroups make_parallel_groups(Communicator& world, const Topology& topology) {
  const Topology& t = topology;
  ParallelGroups groups;
  groups.tensor = world.split(t.rank_of(0, t.cp_rank, t.dp_rank, t.pp_rank), t.tp_rank);
  groups.data = world.split(t.rank_of(t.tp_rank, t.cp_rank, 0, t.pp_rank), t.dp_rank);
  groups.pipeline = world.split(t.rank_of(t.tp_rank, t.cp_rank, t.dp_rank, 0), t.pp_rank);
  // Members share the color of their stage-0 rank; every other rank is alone under its own rank
  // shifted past the world's ranks.
  const bool holds_embedding = t.pp_rank == 0 || t.pp_rank == t.pp - 1;
  groups.embedding = world.split(
      holds_embedding ? t.rank_of(t.tp_rank, t.cp_rank, t.dp_rank, 0) : t.world_size + t.rank,
      t.pp_rank);
  ME_CHECK(groups.pipeline->size() == t.pp && groups.pipeline->rank() == t.pp_rank,
           "pipeline-parallel group {}/{} for {}", groups.pipeline->rank(), groups.pipeline->size(),
           t.describe());
  ME_CHECK(groups.tensor->size() == t.tp && groups.tensor->rank() == t.tp_rank,
           "tensor-parallel group {}/{} for {}", groups.tensor->rank(), groups.tensor->size(),
           t.describe());
  ME_CHECK(groups.data->size() == t.dp && groups.data->rank() == t.dp_rank,
           "data-parallel group {}/{} for {}", groups.data->rank(), groups.data->size(),
           t.describe());
  return groups;
}

}  // namespace me
