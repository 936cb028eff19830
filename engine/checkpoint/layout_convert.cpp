// Layout conversion: for every target (tp, pp) rank, build the model the trainer would build
// there (tensor-parallel and pipeline-stage scopes), read each parameter's slices and its optimizer
// state through the source's index, and write the shards through the ordinary checkpoint path.
#include "engine/checkpoint/layout_convert.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "engine/checkpoint/checkpoint.h"
#include "engine/checkpoint/checkpoint_index.h"
#include "engine/checkpoint/optimizer_shards.h"
#include "engine/checkpoint/shard_file.h"
#include "engine/models/model.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/parallel/communicator.h"
#include "engine/distributed/grad_reducer.h"
#include "engine/parallel/pipeline_layout.h"

namespace me {
namespace fs = std::filesystem;
namespace {

constexpr const char* kOrigin = "convert --to-layout";

// The target's sizes (unset ones the source's) into `layout`, and the recipe for them.
Recipe target_recipe(const CheckpointManifest& source, const LayoutTarget& t, Topology& layout) {
  layout.tp = t.tensor_model_parallel_size.value_or(source.tensor_model_parallel_size);
  layout.pp = t.pipeline_model_parallel_size.value_or(source.pipeline_model_parallel_size);
  layout.dp = t.data_parallel_size.value_or(source.data_parallel_size);
  for (const auto& [flag, value] : {std::pair{"--tensor-model-parallel-size", layout.tp},
                                    {"--pipeline-model-parallel-size", layout.pp},
                                    {"--data-parallel-size", layout.dp}}) {
    if (value < 1) throw Error(fmt::format("must be >= 1 (got {})", value), flag);
  }
  layout.world_size = layout.tp * layout.pp * layout.dp;
  const bool distributed = t.use_distributed_optimizer.value_or(
      YAML::Load(source.recipe_yaml)["parallel"]["use_distributed_optimizer"].as<bool>());
  return checkpoint_recipe_for_layout(source, layout, distributed, kOrigin);
}

// The model one (tp, pp) rank builds: its tensor-parallel shards of its stage's layers.
std::unique_ptr<Model> rank_model(const Recipe& recipe, int64_t padded_vocab,
                                  const Topology& topology) {
  const TensorParallel tp{topology.tp_rank, topology.tp, nullptr};
  const TensorParallelScope tp_scope(tp);
  if (topology.pp == 1) {
    return ModelRegistry::instance().create(recipe.model.type, recipe, padded_vocab);
  }
  const PipelineStage stage = PipelineStage::of(PipelineLayout::of(recipe), topology.pp_rank);
  const PipelineStageScope stage_scope(stage);
  return ModelRegistry::instance().create(recipe.model.type, recipe, padded_vocab);
}

Tensor read_slice(CheckpointIndex& index, const std::string& name, const Placement& placement,
                  const Shape& shape) {
  Tensor host = Tensor::empty(shape, DType::kF32);
  index.read(name, placement, host.data<float>());
  return host;
}

// Writes one target rank's files into `dir`, a tensor at a time: its weights, and its optimizer
// state whole beside them or, with the distributed optimizer, in one piece file per data-parallel
// rank.
void write_rank(CheckpointIndex& index, const Recipe& recipe, const CheckpointManifest& source,
                const Topology& topology, const std::string& dir) {
  const std::unique_ptr<Model> model = rank_model(recipe, source.state.padded_vocab_size, topology);
  const std::vector<Parameter*> params = model->parameters();
  // The optimizer pieces below follow the dense group's buffer layout; another group's would
  // follow its own data-parallel group, which this conversion does not know.
  for (const Parameter* p : params) {
    if (p->group != kDenseGroup) {
      throw Error(fmt::format("parameter '{}' is in group '{}'; convert --to-layout lays out the "
                              "'{}' group only",
                              p->name, p->group, kDenseGroup),
                  recipe.model.type);
    }
  }
  const std::set<std::string> states =
      source.has_optimizer ? index.optimizer_states() : std::set<std::string>{};
  const bool distributed = recipe.parallel.use_distributed_optimizer && topology.dp > 1;
  ShardWriter shard((fs::path(dir) / checkpoint_shard_name(topology)).string());
  for (Parameter* p : params) {
    const Placement whole = Placement::whole(p->full_shape(), p->partition);
    const std::string name = "model/" + p->name;
    shard.write({name, read_slice(index, name, whole, p->shape), whole});
    if (distributed) continue;
    for (const std::string& state : states) {
      const std::string state_name = optimizer_dataset_name(state, p->name);
      shard.write({state_name, read_slice(index, state_name, whole, p->shape), whole});
    }
  }
  shard.close();
  if (!distributed || states.empty()) return;
  const ParamLayout layout =
      ParamLayout::plan(params, data_parallel_layout_options(recipe, topology));
  for (int64_t r = 0; r < topology.dp; ++r) {
    ShardWriter pieces((fs::path(dir) / optimizer_shard_file_name(topology, r)).string());
    for (const std::string& state : states) {
      for (const OwnedPiece& piece : owned_pieces(layout, OptimizerShard{r, topology.dp})) {
        const Parameter& p = *piece.param;
        const Placement placement{p.full_shape(), p.partition, piece.begin, piece.end};
        const std::string name = optimizer_dataset_name(state, p.name);
        pieces.write({name, read_slice(index, name, placement, {placement.size()}), placement});
      }
    }
    pieces.close();
  }
}

}  // namespace

std::string convert_checkpoint_layout(const std::string& from, const std::string& to,
                                      const LayoutTarget& target) {
  const std::optional<std::string> found = find_checkpoint(from);
  if (!found) throw Error("no checkpoint here (no 'latest', no iter_* with a manifest)", from);
  const CheckpointManifest source = read_manifest(*found);
  if (source.format_version == 1) {
    throw Error(
        "format-version-1 checkpoints hold no tensor placements and cannot be converted; "
        "resume it at its own layout and save again to get the current version",
        *found);
  }
  Topology layout;
  const Recipe recipe = target_recipe(source, target, layout);
  const fs::path out_dir = fs::path(to) / fs::path(*found).filename();
  if (fs::exists(out_dir)) {
    throw Error(
        "already exists; convert writes a new checkpoint and never replaces one (choose "
        "another --to-layout directory)",
        out_dir.string());
  }
  if (source.state.padded_vocab_size % layout.tp != 0) {
    throw Error(fmt::format("the checkpoint's padded vocabulary ({} rows) does not split over "
                            "tensor_model_parallel_size {}",
                            source.state.padded_vocab_size, layout.tp),
                "--tensor-model-parallel-size");
  }
  CheckpointIndex index(checkpoint_shard_paths(source));
  CheckpointSnapshot manifest{to, source.state.iteration};
  SelfCommunicator self;
  start_checkpoint(manifest, self);
  for (int64_t pp_rank = 0; pp_rank < layout.pp; ++pp_rank) {
    for (int64_t tp_rank = 0; tp_rank < layout.tp; ++tp_rank) {
      Topology rank = layout;
      rank.tp_rank = tp_rank;
      rank.pp_rank = pp_rank;
      rank.rank = rank.rank_of(tp_rank, 0, 0, pp_rank);
      write_rank(index, recipe, source, rank, checkpoint_temporary_dir(to, source.state.iteration));
    }
  }
  manifest.manifest_yaml =
      checkpoint_manifest_yaml(recipe, source.state, source.optimizer, layout,
                               recipe.parallel.use_distributed_optimizer && layout.dp > 1);
  finish_checkpoint(manifest);
  spdlog::info("converted {} (tp {}, pp {}, dp {}) to tp {}, pp {}, dp {}{}", *found,
               source.tensor_model_parallel_size, source.pipeline_model_parallel_size,
               source.data_parallel_size, layout.tp, layout.pp, layout.dp,
               recipe.parallel.use_distributed_optimizer ? " with the distributed optimizer" : "");
  return out_dir.string();
}

}  // namespace me
