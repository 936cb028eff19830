// Distributed-optimizer state in checkpoints: each data-parallel rank writes the pieces of every
// parameter's state it owns (global shape and element range recorded in the manifest), and any
// layout reads back the slices it needs, from pieces of any dp size or from whole tensors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/optim/optimizer_shard.h"
#include "engine/parallel/topology.h"

namespace me {

class Optimizer;
class ParamBuffers;

// Elements [begin, end) of parameter `param` (flattened, global shape `shape`).
struct StatePiece {
  std::string param;
  Shape shape;
  int64_t begin = 0;
  int64_t end = 0;
};

// One state file: written by data-parallel rank `dp_rank`, holding `pieces` of every state
// tensor as 1-D datasets "optimizer/<state>/<param>".
struct OptimizerShardFile {
  std::string file;
  int64_t dp_rank = 0;
  std::vector<StatePiece> pieces;
};

// The pieces of each parameter inside `shard`'s bucket shards, in buffer order.
std::vector<StatePiece> owned_pieces(const ParamLayout& layout, const OptimizerShard& shard);

std::string optimizer_shard_file_name(const Topology& topology, int64_t dp_rank);

// This rank's state pieces as 1-D host tensors named "optimizer/<state>/<param>", for its
// optimizer_shard_file_name file; `copy` clones host memory so later steps cannot change them.
std::vector<std::pair<std::string, Tensor>> optimizer_piece_tensors(ParamBuffers& buffers,
                                                                    Optimizer& optimizer,
                                                                    bool copy);

// The manifest entries of every data-parallel rank's file (computed from the shared layout).
YAML::Node optimizer_shards_yaml(const ParamLayout& layout, const Topology& topology);
std::vector<OptimizerShardFile> parse_optimizer_shards(const YAML::Node& node);

// Fills `optimizer`'s state, whole or sharded, with the elements it owns: from `files` (a
// distributed-optimizer checkpoint of any dp size) or, when `files` is empty, from the whole
// tensors in `model_shard_path`. Every needed element must be found.
void load_optimizer_state(const std::string& directory,
                          const std::vector<OptimizerShardFile>& files,
                          const std::string& model_shard_path, ParamBuffers& buffers,
                          Optimizer& optimizer);

}  // namespace me
