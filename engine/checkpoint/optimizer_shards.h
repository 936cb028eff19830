// Optimizer state in checkpoints: whole per-parameter tensors beside the weights, or with the
// distributed optimizer each data-parallel rank's pieces in its own file; either is read back by
// name and placement into whole or sharded state of any layout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/checkpoint/shard_file.h"
#include "engine/optim/optimizer_shard.h"
#include "engine/parallel/topology.h"

namespace me {

class CheckpointIndex;
class Optimizer;
class ParamBuffers;

// The elements [begin, end) of `param`'s (local) state that one optimizer shard owns, and where
// they start in that shard's state tensors.
struct OwnedPiece {
  Parameter* param = nullptr;
  int64_t begin = 0;
  int64_t end = 0;
  int64_t state_begin = 0;
};

// The pieces of each parameter inside `shard`'s bucket shards, in buffer order (every parameter
// whole when shard.size is 1).
std::vector<OwnedPiece> owned_pieces(const ParamLayout& layout, const OptimizerShard& shard);

std::string optimizer_shard_file_name(const Topology& topology, int64_t dp_rank);

// "optimizer/<state>/<param>".
std::string optimizer_dataset_name(const std::string& state, const std::string& param);

// This rank's state pieces as 1-D tensors named "optimizer/<state>/<param>", for its
// optimizer_shard_file_name file; `copy` clones host memory so later steps cannot change them.
std::vector<StoredTensor> optimizer_piece_tensors(ParamBuffers& buffers, Optimizer& optimizer,
                                                  bool copy);

// Fills `optimizer`'s state, whole or sharded, with the elements it owns, from whatever layout
// the checkpoint holds them in. Every needed element must be found.
void load_optimizer_state(CheckpointIndex& index, ParamBuffers& buffers, Optimizer& optimizer);

}  // namespace me
