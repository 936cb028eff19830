// Reading format-version-1 checkpoints: shards of local tensors without placement attributes, so
// they load only into the layout's tensor- and pipeline-parallel sizes they were saved at (any dp,
// distributed optimizer on or off, as before).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/parallel/topology.h"

namespace me {

struct CheckpointManifest;
class Optimizer;
class ParamBuffers;

// Version 1's distributed-optimizer pieces, described in the manifest: elements [begin, end) of
// parameter `param` (flattened, shape `shape`).
struct StatePiece {
  std::string param;
  Shape shape;
  int64_t begin = 0;
  int64_t end = 0;
};

// One version-1 state file: written by data-parallel rank `dp_rank`, holding `pieces` of every
// state tensor as 1-D datasets "optimizer/<state>/<param>".
struct OptimizerShardFile {
  std::string file;
  int64_t dp_rank = 0;
  std::vector<StatePiece> pieces;
};

std::vector<OptimizerShardFile> parse_optimizer_shards(const YAML::Node& node);

// Loads a version-1 checkpoint; a tensor- or pipeline-parallel size other than the saved one is a
// me::Error saying to convert the checkpoint by resaving it.
void load_checkpoint_v1(const CheckpointManifest& manifest, ParamBuffers& buffers,
                        Optimizer* optimizer, const Topology& topology);

}  // namespace me
