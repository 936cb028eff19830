// Checkpoints (docs/formats.md): CKPT/iter_NNNNNNN/ with manifest.yaml (resolved recipe, layout,
// training state, sha256 of every shard) and per-rank HDF5 shards of parameters and optimizer
// state by name, each tensor with its place in the full tensor, so any layout can load them.
// Written under a temporary name, fsync'ed and renamed; CKPT/latest names the newest complete
// one. A crash at any moment leaves the previous checkpoint loadable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/checkpoint/checkpoint_v1.h"
#include "engine/checkpoint/tensor_placement.h"
#include "engine/core/tensor.h"
#include "engine/optim/loss_scaler.h"
#include "engine/parallel/topology.h"
#include "engine/recipe/recipe.h"

namespace me {

class Communicator;
class Optimizer;
class ParamBuffers;

// Everything besides tensors that resuming needs.
struct TrainingState {
  int64_t iteration = 0;
  int64_t consumed_train_samples = 0;
  int64_t consumed_valid_samples = 0;
  int64_t scheduler_num_steps = 0;
  int64_t optimizer_steps = 0;
  int64_t seed = 0;  // the counter-based RNG's whole state: streams derive from (seed, iteration)
  int64_t padded_vocab_size = 0;
  std::string tokenizer_type;
  std::string tokenizer_sha256;
  std::optional<LossScalerState> loss_scaler;  // fp16/bf16 runs with a loss scaler
};

struct CheckpointManifest {
  std::string directory;  // the iter_NNNNNNN directory
  int format_version = 3;
  std::string recipe_yaml;
  TrainingState state;
  bool has_optimizer = false;
  std::string optimizer;  // registered name of the optimizer whose state is stored
  int64_t world_size = 1;
  int64_t tensor_model_parallel_size = 1;
  int64_t pipeline_model_parallel_size = 1;
  int64_t data_parallel_size = 1;
  std::vector<std::string> shards;  // file names, each verified against its sha256
  // Version 1 only: its distributed-optimizer state files (later versions describe themselves).
  std::vector<OptimizerShardFile> optimizer_shards;
};

// One parameter group (Parameter::group) as checkpoints see it: its flat buffers, its optimizer
// (null: no optimizer state is saved or loaded) and this rank's place in the group's data-parallel
// group, whose rank 0 writes the group's weights (and whole optimizer state). With a sharded
// optimizer every rank of the group writes its pieces.
struct CheckpointGroup {
  ParamBuffers* buffers = nullptr;
  Optimizer* optimizer = nullptr;
  int64_t data_parallel_rank = 0;
};

// Saves into root/iter_<iteration>; every rank writes its shards, rank 0 the manifest and latest.
// Collective: snapshot, start, write and publish below, in one go.
void save_checkpoint(const std::string& root, const Recipe& recipe, const TrainingState& state,
                     const std::vector<CheckpointGroup>& groups, const Topology& topology,
                     Communicator& comm);
// The same for one group reduced over the topology's data-parallel group.
void save_checkpoint(const std::string& root, const Recipe& recipe, const TrainingState& state,
                     ParamBuffers& buffers, Optimizer* optimizer, const Topology& topology,
                     Communicator& comm);

// What one rank writes for one checkpoint, captured at one instant: host tensors by HDF5 name with
// their placements and (rank 0) the manifest without its shard list. async_save writes it while
// training goes on.
struct CheckpointSnapshot {
  std::string root;
  int64_t iteration = 0;
  // This rank's shard file; empty when it writes no group's weights (other data-parallel ranks
  // do).
  std::string shard;
  std::vector<StoredTensor> tensors;
  // With the distributed optimizer every data-parallel rank also writes its state pieces.
  std::string optimizer_shard;
  std::vector<StoredTensor> optimizer_tensors;
  std::string manifest_yaml;
};

// The manifest (without its shard list) of a checkpoint of `recipe` at `state` laid out as
// `layout` (world, tp, pp and dp sizes); `optimizer` is the stored state's optimizer or empty.
std::string checkpoint_manifest_yaml(const Recipe& recipe, const TrainingState& state,
                                     const std::string& optimizer, const Topology& layout,
                                     bool distributed_optimizer);

// Where the files of a save of `iteration` under `root` are written before the rename publishes
// them (root/.iter_NNNNNNN.tmp).
std::string checkpoint_temporary_dir(const std::string& root, int64_t iteration);

// "shard_tpXX_ppYYY.h5": the weights (and whole optimizer state) a (tp, pp) rank writes at
// data-parallel rank 0; "shard_tpXX_ppYYY_dpZZZ.h5" at another data-parallel rank, which writes
// the groups whose own data-parallel rank 0 it is.
std::string checkpoint_shard_name(const Topology& topology);

// `copy`: host tensors are cloned too, so later training steps cannot change the snapshot.
CheckpointSnapshot snapshot_checkpoint(const std::string& root, const Recipe& recipe,
                                       const TrainingState& state,
                                       const std::vector<CheckpointGroup>& groups,
                                       const Topology& topology, bool copy);
// Collective: rank 0 creates the temporary directory (clearing a crashed save's leftovers).
void start_checkpoint(const CheckpointSnapshot& snapshot, Communicator& comm);
// Writes and fsyncs this rank's shard; no communication, so any thread may call it.
void write_checkpoint_shard(const CheckpointSnapshot& snapshot);
// Rank 0 once every shard is written: manifest with sha256s, atomic rename, `latest`. No
// communication.
void finish_checkpoint(const CheckpointSnapshot& snapshot);
// Collective: waits for every rank's shard, then rank 0 finishes.
void publish_checkpoint(const CheckpointSnapshot& snapshot, Communicator& comm);

// The newest complete checkpoint under root (by `latest`, else the newest iter_* holding a
// manifest), or nullopt if there is none. `root` may also name an iter_* directory itself.
std::optional<std::string> find_checkpoint(const std::string& root);

// Reads and checks a manifest (format, version, shards present with matching sha256).
CheckpointManifest read_manifest(const std::string& iteration_dir);

// The checkpoint's recipe with its parallel layout replaced (tensor- and pipeline-parallel sizes,
// use_distributed_optimizer), validated for tp * pp * dp ranks: what a process builds to load the
// checkpoint at another layout (inference and export: all 1). `origin` names it in errors.
Recipe checkpoint_recipe_for_layout(const CheckpointManifest& manifest, const Topology& layout,
                                    bool distributed_optimizer, const std::string& origin);

// Refuses a checkpoint whose parameters differ from those the model built for `recipe` declares
// (names and full shapes; vocabulary tables may differ by another tensor-parallel size's padding):
// a me::Error naming the first parameters missing, extra or of another shape and, where the
// checkpoint's own recipe builds a model that matches, the model fields (and padded vocabulary)
// it differs in, with both values.
void check_model_compatible(const CheckpointManifest& manifest, const Recipe& recipe,
                            int64_t padded_vocab_size);

// The full paths of the manifest's shard files.
std::vector<std::string> checkpoint_shard_paths(const CheckpointManifest& manifest);

// Loads every group's parameters (and optimizer state where its optimizer is non-null) by name
// into its buffers: versions 2 and 3 into any layout (each rank reads the slices it holds from
// the shards that overlap them), version 1 at the tensor- and pipeline-parallel sizes it was saved
// at.
void load_checkpoint(const CheckpointManifest& manifest, const std::vector<CheckpointGroup>& groups,
                     const Topology& topology);
// The same for one group.
void load_checkpoint(const CheckpointManifest& manifest, ParamBuffers& buffers,
                     Optimizer* optimizer, const Topology& topology);

}  // namespace me
