// The tensor-, data- and pipeline-parallel groups of this rank, split from the world by the
// Topology's coordinates (Megatron's parallel_state groups), in rank order within each group.
#pragma once

#include <memory>

#include "engine/parallel/communicator.h"
#include "engine/parallel/topology.h"

namespace me {

struct ParallelGroups {
  std::unique_ptr<Communicator> tensor;  // the tp ranks sharing (cp, dp, pp); rank = tp_rank
  std::unique_ptr<Communicator> data;    // the dp ranks sharing (tp, cp, pp); rank = dp_rank
  std::unique_ptr<Communicator> pipeline;  // the pp ranks sharing (tp, cp, dp); rank = pp_rank
  // Megatron's embedding group: the first and last pipeline stages sharing (tp, cp, dp), which
  // hold the two copies of the tied word embeddings; a group of one elsewhere (and at pp 1).
  std::unique_ptr<Communicator> embedding;
};

// Collective over `world`: every rank must call it with its own topology.
ParallelGroups make_parallel_groups(Communicator& world, const Topology& topology);

}  // namespace me
