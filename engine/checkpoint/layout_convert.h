// `megatron-engine convert --to-layout`: rewrites a checkpoint for another tensor-, pipeline- and
// data-parallel layout (distributed optimizer on or off), weights and optimizer state, offline and
// without a GPU, by building each target rank's parameters and reading their slices by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace me {

// The target layout; an unset field keeps the source checkpoint's value.
struct LayoutTarget {
  std::optional<int64_t> tensor_model_parallel_size;
  std::optional<int64_t> pipeline_model_parallel_size;
  std::optional<int64_t> data_parallel_size;
  std::optional<bool> use_distributed_optimizer;
};

// Reads the checkpoint at `from` (a root or an iter_* directory; format version 2 or 3) and writes
// `to`/iter_<same iteration> laid out for `target`, with the manifest's layout and recipe
// (parallel sizes, use_distributed_optimizer) updated, under a temporary name renamed when
// complete; `to`/latest then names it. Refuses (me::Error) a target the recipe rules reject and an
// iteration directory that already exists under `to`, so the source is never overwritten.
// Returns the new iteration directory.
std::string convert_checkpoint_layout(const std::string& from, const std::string& to,
                                      const LayoutTarget& target);

}  // namespace me
