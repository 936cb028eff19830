// The tensor-parallel and data-parallel groups of this rank, split from the world by the
// Topology's coordinates (Megatron's parallel_state groups), in rank order within each group.
#pragma once

#include <memory>

#include "engine/parallel/communicator.h"
#include "engine/parallel/topology.h"

namespace me {

struct ParallelGroups {
  std::unique_ptr<Communicator> tensor;  // the tp ranks sharing (cp, dp, pp); rank = tp_rank
  std::unique_ptr<Communicator> data;    // the dp ranks sharing (tp, cp, pp); rank = dp_rank
};

// Collective over `world`: every rank must call it with its own topology.
ParallelGroups make_parallel_groups(Communicator& world, const Topology& topology);

}  // namespace me
