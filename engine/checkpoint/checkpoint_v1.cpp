// Version-1 loading, kept so older checkpoints still resume: each rank reads its own shard's whole
// tensors, and distributed-optimizer pieces by element-range overlap from the manifest's list.
#include "engine/checkpoint/checkpoint_v1.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "datasets/hdf5_file.h"
#include "engine/checkpoint/checkpoint.h"
#include "engine/checkpoint/optimizer_shards.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/param_buffers.h"

namespace me {
namespace fs = std::filesystem;
namespace {

void read_tensor(const H5File& file, const std::string& name, Tensor& into) {
  const H5Dataset dataset = file.open_dataset(name);
  const Shape shape = dataset.dims();
  if (shape != into.shape()) {
    throw Error(fmt::format("tensor '{}' has shape {} in the checkpoint, the model expects {}",
                            name, shape_str(shape), shape_str(into.shape())),
                file.path());
  }
  Tensor host = Tensor::empty(shape, DType::kF32);
  if (host.numel() > 0) dataset.read_rows(H5T_NATIVE_FLOAT, 0, shape[0], host.data<float>());
  into.copy_from(host.to(into.device()));
}

std::vector<float> read_all(const H5File& file, const std::string& name, int64_t expected) {
  const H5Dataset dataset = file.open_dataset(name);
  const std::vector<int64_t> dims = dataset.dims();
  const int64_t numel = shape_numel(dims);
  if (numel != expected) {
    throw Error(fmt::format("'{}' holds {} elements, expected {}", name, numel, expected),
                file.path());
  }
  std::vector<float> values(static_cast<size_t>(numel));
  if (numel > 0) dataset.read_rows(H5T_NATIVE_FLOAT, 0, dims.at(0), values.data());
  return values;
}

// Where to find elements of one parameter's state: a file and the element range it holds.
struct Source {
  std::string path;
  int64_t begin = 0;
  int64_t end = 0;
};

// Whole tensors in the model shard, or (files non-empty) distributed-optimizer pieces.
void load_optimizer_state_v1(const std::string& directory,
                             const std::vector<OptimizerShardFile>& files,
                             const std::string& model_shard_path, ParamBuffers& buffers,
                             Optimizer& optimizer) {
  std::map<std::string, std::vector<Source>> sources;  // by parameter
  for (const OptimizerShardFile& f : files) {
    for (const StatePiece& p : f.pieces) {
      sources[p.param].push_back({(fs::path(directory) / f.file).string(), p.begin, p.end});
    }
  }
  std::map<std::string, H5File> open_files;
  auto file_at = [&](const std::string& path) -> const H5File& {
    auto it = open_files.find(path);
    if (it == open_files.end()) it = open_files.emplace(path, H5File::open_read(path)).first;
    return it->second;
  };
  const std::vector<OwnedPiece> needed = owned_pieces(buffers.layout(), optimizer.shard());
  for (const auto& [state, flat] : optimizer.state_buffers()) {
    Tensor host = Tensor::zeros(flat->shape(), DType::kF32);
    float* out = host.data<float>();
    for (const OwnedPiece& need : needed) {
      const std::string& param = need.param->name;
      const std::vector<Source> candidates =
          files.empty() ? std::vector<Source>{{model_shard_path, 0, need.param->numel()}}
                        : sources[param];
      int64_t found = 0;
      for (const Source& s : candidates) {
        const int64_t lo = std::max(need.begin, s.begin), hi = std::min(need.end, s.end);
        if (lo >= hi) continue;
        const std::vector<float> values =
            read_all(file_at(s.path), "optimizer/" + state + "/" + param, s.end - s.begin);
        std::copy(values.begin() + (lo - s.begin), values.begin() + (hi - s.begin),
                  out + need.state_begin + (lo - need.begin));
        found += hi - lo;
      }
      if (found != need.end - need.begin) {
        throw Error(fmt::format("optimizer state '{}' of '{}' covers {} of the {} elements "
                                "[{}, {}) this rank needs",
                                state, param, found, need.end - need.begin, need.begin, need.end),
                    directory);
      }
    }
    flat->copy_from(host.to(flat->device()));
  }
}

}  // namespace

std::vector<OptimizerShardFile> parse_optimizer_shards(const YAML::Node& node) {
  std::vector<OptimizerShardFile> files;
  if (!node) return files;
  for (const auto& entry : node) {
    OptimizerShardFile f;
    f.file = entry["file"].as<std::string>();
    f.dp_rank = entry["dp_rank"].as<int64_t>();
    for (const auto& piece : entry["params"]) {
      f.pieces.push_back({piece["name"].as<std::string>(), piece["shape"].as<Shape>(),
                          piece["begin"].as<int64_t>(), piece["end"].as<int64_t>()});
    }
    files.push_back(std::move(f));
  }
  return files;
}

void load_checkpoint_v1(const CheckpointManifest& manifest, ParamBuffers& buffers,
                        Optimizer* optimizer, const Topology& topology) {
  if (manifest.tensor_model_parallel_size != topology.tp ||
      manifest.pipeline_model_parallel_size != topology.pp) {
    throw Error(fmt::format("checkpoint {} is format version 1, saved at "
                            "tensor_model_parallel_size {} and pipeline_model_parallel_size {}; "
                            "version 1 loads only at that layout (this run has {} and {}): resume "
                            "it there and save again to get the current version, which loads at "
                            "any layout",
                            manifest.directory, manifest.tensor_model_parallel_size,
                            manifest.pipeline_model_parallel_size, topology.tp, topology.pp),
                "parallel.tensor_model_parallel_size");
  }
  const std::string model_shard =
      (fs::path(manifest.directory) /
       fmt::format("shard_tp{:02d}_pp{:03d}.h5", topology.tp_rank, topology.pp_rank))
          .string();
  const H5File file = H5File::open_read(model_shard);
  for (Parameter* p : buffers.parameters()) read_tensor(file, "model/" + p->name, p->main);
  buffers.sync_model_params();
  if (!optimizer) return;
  load_optimizer_state_v1(manifest.directory, manifest.optimizer_shards, model_shard, buffers,
                          *optimizer);
}

}  // namespace me
