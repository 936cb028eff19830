// Checkpoint save/load: HDF5 shards of named tensors, a YAML manifest, atomic directory renames.
#include "engine/checkpoint/checkpoint.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "datasets/sha256.h"
#include "engine/checkpoint/optimizer_shards.h"
#include "engine/checkpoint/shard_file.h"
#include "engine/core/build_info.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"

namespace me {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "megatron-engine-checkpoint";
// 2: tensors carry their placement; 3: a partition may list unequal blocks (partition_blocks).
// 1 and 2 still load.
constexpr int kFormatVersion = 3;

std::string iteration_dir_name(int64_t iteration) { return fmt::format("iter_{:07d}", iteration); }

// Flushes a file or directory to stable storage, so a rename never publishes unwritten data.
void fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(fmt::format("cannot open {} to sync it", path.string()));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(fmt::format("fsync of {} failed", path.string()));
}

// Writes `text` to path atomically (temporary file, fsync, rename).
void write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + fmt::format(".tmp-{}", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error(fmt::format("cannot write {}", tmp.string()));
  }
  fsync_path(tmp);
  fs::rename(tmp, path);
  fsync_path(path.parent_path());
}

// A host copy of `tensor` that later updates of the original cannot reach when `copy` is set.
Tensor host_tensor(const Tensor& tensor, bool copy) {
  return tensor.device().is_cpu() && copy ? tensor.clone() : tensor.to(Device::cpu());
}

YAML::Node state_to_yaml(const TrainingState& s) {
  YAML::Node n;
  n["iteration"] = s.iteration;
  n["consumed_train_samples"] = s.consumed_train_samples;
  n["consumed_valid_samples"] = s.consumed_valid_samples;
  n["scheduler_num_steps"] = s.scheduler_num_steps;
  n["optimizer_steps"] = s.optimizer_steps;
  n["seed"] = s.seed;
  n["padded_vocab_size"] = s.padded_vocab_size;
  n["tokenizer_type"] = s.tokenizer_type;
  n["tokenizer_sha256"] = s.tokenizer_sha256;
  if (s.loss_scaler) {
    n["loss_scaler"]["scale"] = s.loss_scaler->scale;
    n["loss_scaler"]["growth_tracker"] = s.loss_scaler->growth_tracker;
    n["loss_scaler"]["hysteresis_tracker"] = s.loss_scaler->hysteresis_tracker;
  }
  return n;
}

TrainingState state_from_yaml(const YAML::Node& n) {
  TrainingState s;
  s.iteration = n["iteration"].as<int64_t>();
  s.consumed_train_samples = n["consumed_train_samples"].as<int64_t>();
  s.consumed_valid_samples = n["consumed_valid_samples"].as<int64_t>();
  s.scheduler_num_steps = n["scheduler_num_steps"].as<int64_t>();
  s.optimizer_steps = n["optimizer_steps"].as<int64_t>();
  s.seed = n["seed"].as<int64_t>();
  s.padded_vocab_size = n["padded_vocab_size"].as<int64_t>();
  s.tokenizer_type = n["tokenizer_type"].as<std::string>();
  s.tokenizer_sha256 = n["tokenizer_sha256"].as<std::string>();
  if (const YAML::Node scaler = n["loss_scaler"]) {
    s.loss_scaler =
        LossScalerState{scaler["scale"].as<double>(), scaler["growth_tracker"].as<int64_t>(),
                        scaler["hysteresis_tracker"].as<int64_t>()};
  }
  return s;
}

// The manifest's fields, checked; YAML errors (missing or mistyped fields) propagate to
// read_manifest.
CheckpointManifest parse_manifest(const std::string& iteration_dir, const YAML::Node& manifest) {
  const fs::path path = fs::path(iteration_dir) / "manifest.yaml";
  if (!manifest["format"] || manifest["format"].as<std::string>() != kFormat) {
    throw Error(
        fmt::format("not a megatron-engine checkpoint manifest (format is not '{}')", kFormat),
        path.string());
  }
  const int version = manifest["format_version"].as<int>();
  if (version < 1 || version > kFormatVersion) {
    throw Error(fmt::format("checkpoint format version {} is not supported (this engine reads 1 "
                            "to {})",
                            version, kFormatVersion),
                path.string());
  }
  for (const auto& shard : manifest["shards"]) {
    const fs::path file = fs::path(iteration_dir) / shard["file"].as<std::string>();
    if (!fs::exists(file)) throw Error("checkpoint shard is missing", file.string());
    if (sha256_file(file.string()) != shard["sha256"].as<std::string>()) {
      throw Error("checkpoint shard does not match the sha256 in its manifest (damaged)",
                  file.string());
    }
  }
  CheckpointManifest m;
  m.directory = iteration_dir;
  m.format_version = version;
  m.state = state_from_yaml(manifest["state"]);
  m.optimizer = manifest["optimizer"].as<std::string>();
  m.has_optimizer = !m.optimizer.empty();
  const YAML::Node layout = manifest["layout"];
  m.world_size = layout["world_size"].as<int64_t>();
  m.tensor_model_parallel_size = layout["tensor_model_parallel_size"].as<int64_t>();
  m.pipeline_model_parallel_size = layout["pipeline_model_parallel_size"].as<int64_t>();
  m.data_parallel_size = layout["data_parallel_size"].as<int64_t>();
  for (const auto& shard : manifest["shards"]) m.shards.push_back(shard["file"].as<std::string>());
  m.optimizer_shards = parse_optimizer_shards(manifest["optimizer_shards"]);
  YAML::Emitter out;
  out << manifest["recipe"];
  m.recipe_yaml = out.c_str();
  return m;
}

}  // namespace

std::string checkpoint_temporary_dir(const std::string& root, int64_t iteration) {
  return (fs::path(root) / fmt::format(".{}.tmp", iteration_dir_name(iteration))).string();
}

std::string checkpoint_shard_name(const Topology& t) {
  if (t.dp_rank == 0) return fmt::format("shard_tp{:02d}_pp{:03d}.h5", t.tp_rank, t.pp_rank);
  return fmt::format("shard_tp{:02d}_pp{:03d}_dp{:03d}.h5", t.tp_rank, t.pp_rank, t.dp_rank);
}

std::string checkpoint_manifest_yaml(const Recipe& recipe, const TrainingState& state,
                                     const std::string& optimizer, const Topology& layout,
                                     bool distributed_optimizer) {
  YAML::Node manifest;
  manifest["format"] = kFormat;
  manifest["format_version"] = kFormatVersion;
  manifest["engine_version"] = ME_VERSION;
  manifest["state"] = state_to_yaml(state);
  manifest["optimizer"] = optimizer;
  manifest["layout"]["world_size"] = layout.world_size;
  manifest["layout"]["tensor_model_parallel_size"] = layout.tp;
  manifest["layout"]["pipeline_model_parallel_size"] = layout.pp;
  manifest["layout"]["data_parallel_size"] = layout.dp;
  manifest["layout"]["use_distributed_optimizer"] = distributed_optimizer;
  manifest["recipe"] = YAML::Load(recipe_to_yaml(recipe));
  YAML::Emitter out;
  out << manifest;
  return out.c_str();
}

CheckpointSnapshot snapshot_checkpoint(const std::string& root, const Recipe& recipe,
                                       const TrainingState& state,
                                       const std::vector<CheckpointGroup>& groups,
                                       const Topology& topology, bool copy) {
  CheckpointSnapshot snap;
  snap.root = root;
  snap.iteration = state.iteration;
  bool any_optimizer = false, sharded_optimizer = false;
  for (const CheckpointGroup& group : groups) {
    const ParamBuffers& buffers = *group.buffers;
    Optimizer* optimizer = group.optimizer;
    const bool sharded = optimizer && optimizer->shard().size > 1;
    any_optimizer = any_optimizer || optimizer;
    sharded_optimizer = sharded_optimizer || sharded;
    if (topology.cp_rank != 0) continue;
    if (sharded) {  // every data-parallel rank of the group writes its pieces
      snap.optimizer_shard = optimizer_shard_file_name(topology, topology.dp_rank);
      for (StoredTensor& t : optimizer_piece_tensors(*group.buffers, *optimizer, copy)) {
        snap.optimizer_tensors.push_back(std::move(t));
      }
    }
    if (group.data_parallel_rank != 0) continue;  // another rank writes this group's weights
    snap.shard = checkpoint_shard_name(topology);
    for (Parameter* p : buffers.parameters()) {
      snap.tensors.push_back({"model/" + p->name, host_tensor(p->main, copy),
                              Placement::whole(p->full_shape(), p->partition)});
    }
    if (!optimizer || sharded) continue;
    for (const auto& [state_name, flat] : optimizer->state_buffers()) {
      for (const ParamSlot& slot : buffers.layout().slots) {
        const Parameter& p = *slot.param;
        snap.tensors.push_back({optimizer_dataset_name(state_name, p.name),
                                host_tensor(flat->view(slot.offset, p.shape), copy),
                                Placement::whole(p.full_shape(), p.partition)});
      }
    }
  }
  if (topology.rank == 0) {
    snap.manifest_yaml =
        checkpoint_manifest_yaml(recipe, state, any_optimizer ? recipe.optimizer.optimizer : "",
                                 topology, sharded_optimizer);
  }
  return snap;
}

void start_checkpoint(const CheckpointSnapshot& snap, Communicator& comm) {
  if (comm.rank() == 0) {
    const fs::path tmp_dir = checkpoint_temporary_dir(snap.root, snap.iteration);
    fs::create_directories(snap.root);
    fs::remove_all(tmp_dir);  // leftovers of a save that crashed
    fs::create_directories(tmp_dir);
  }
  comm.barrier();
}

void write_checkpoint_shard(const CheckpointSnapshot& snap) {
  const fs::path dir = checkpoint_temporary_dir(snap.root, snap.iteration);
  auto write = [&](const std::string& shard, const std::vector<StoredTensor>& tensors) {
    if (shard.empty()) return;
    write_shard_file((dir / shard).string(), tensors);
  };
  write(snap.shard, snap.tensors);
  write(snap.optimizer_shard, snap.optimizer_tensors);
}

void finish_checkpoint(const CheckpointSnapshot& snap) {
  const fs::path root(snap.root);
  const std::string name = iteration_dir_name(snap.iteration);
  const fs::path tmp_dir = checkpoint_temporary_dir(snap.root, snap.iteration);
  const fs::path final_dir = root / name;
  YAML::Node manifest = YAML::Load(snap.manifest_yaml);
  std::vector<std::string> shards;
  for (const auto& entry : fs::directory_iterator(tmp_dir)) {
    if (entry.path().extension() == ".h5") shards.push_back(entry.path().filename().string());
  }
  std::sort(shards.begin(), shards.end());
  for (const auto& shard : shards) {
    YAML::Node s;
    s["file"] = shard;
    s["sha256"] = sha256_file((tmp_dir / shard).string());
    manifest["shards"].push_back(s);
  }
  YAML::Emitter out;
  out << manifest;
  write_file_atomically(tmp_dir / "manifest.yaml", std::string(out.c_str()) + "\n");
  fsync_path(tmp_dir);
  // Replacing an existing iter dir (a re-save of the same iteration): move it aside first, so
  // the directory name always holds a complete checkpoint or nothing.
  const fs::path old_dir = root / fmt::format(".{}.old", name);
  fs::remove_all(old_dir);
  if (fs::exists(final_dir)) fs::rename(final_dir, old_dir);
  fs::rename(tmp_dir, final_dir);
  fsync_path(root);
  write_file_atomically(root / "latest", name + "\n");
  fs::remove_all(old_dir);
  spdlog::info("saved checkpoint {}", final_dir.string());
}

void publish_checkpoint(const CheckpointSnapshot& snap, Communicator& comm) {
  comm.barrier();
  if (comm.rank() == 0) finish_checkpoint(snap);
  comm.barrier();
}

void save_checkpoint(const std::string& root, const Recipe& recipe, const TrainingState& state,
                     const std::vector<CheckpointGroup>& groups, const Topology& topology,
                     Communicator& comm) {
  const CheckpointSnapshot snap = snapshot_checkpoint(root, recipe, state, groups, topology, false);
  start_checkpoint(snap, comm);
  write_checkpoint_shard(snap);
  publish_checkpoint(snap, comm);
}

void save_checkpoint(const std::string& root, const Recipe& recipe, const TrainingState& state,
                     ParamBuffers& buffers, Optimizer* optimizer, const Topology& topology,
                     Communicator& comm) {
  save_checkpoint(root, recipe, state, {{&buffers, optimizer, topology.dp_rank}}, topology, comm);
}

std::optional<std::string> find_checkpoint(const std::string& root) {
  const fs::path base(root);
  if (fs::exists(base / "manifest.yaml")) return base.string();
  if (!fs::is_directory(base)) return std::nullopt;
  std::ifstream latest(base / "latest");
  std::string name;
  if (latest >> name && fs::exists(base / name / "manifest.yaml")) return (base / name).string();
  // `latest` missing or stale (a crash between renames): take the newest complete iteration.
  std::optional<fs::path> best;
  for (const auto& entry : fs::directory_iterator(base)) {
    const std::string dir = entry.path().filename().string();
    if (dir.rfind("iter_", 0) == 0 && fs::exists(entry.path() / "manifest.yaml") &&
        (!best || dir > best->filename().string())) {
      best = entry.path();
    }
  }
  if (best) spdlog::warn("{}: 'latest' is missing or stale; using {}", root, best->string());
  return best ? std::optional<std::string>(best->string()) : std::nullopt;
}

CheckpointManifest read_manifest(const std::string& iteration_dir) {
  const fs::path path = fs::path(iteration_dir) / "manifest.yaml";
  try {
    return parse_manifest(iteration_dir, YAML::LoadFile(path.string()));
  } catch (const YAML::Exception& e) {  // unparseable, or a field missing or of the wrong type
    throw Error(fmt::format("malformed checkpoint manifest: {}", e.what()), path.string());
  }
}

Recipe checkpoint_recipe_for_layout(const CheckpointManifest& manifest, const Topology& layout,
                                    bool distributed_optimizer, const std::string& origin) {
  YAML::Node recipe = YAML::Load(manifest.recipe_yaml);
  YAML::Node parallel = recipe["parallel"];
  parallel["tensor_model_parallel_size"] = layout.tp;
  parallel["pipeline_model_parallel_size"] = layout.pp;
  parallel["use_distributed_optimizer"] = distributed_optimizer;
  YAML::Emitter out;
  out << recipe;
  return parse_recipe(out.c_str(), origin, layout.tp * layout.pp * layout.dp);
}

std::vector<std::string> checkpoint_shard_paths(const CheckpointManifest& manifest) {
  std::vector<std::string> paths;
  for (const std::string& shard : manifest.shards) {
    paths.push_back((fs::path(manifest.directory) / shard).string());
  }
  return paths;
}

}  // namespace me
