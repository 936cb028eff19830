// Optimizer-state pieces: written per data-parallel rank, read back by element-range overlap.
#include "engine/checkpoint/optimizer_shards.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "datasets/hdf5_file.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/param_buffers.h"

namespace me {
namespace fs = std::filesystem;
namespace {

// A piece with where it sits in the owning rank's state tensors.
struct OwnedPiece {
  StatePiece piece;
  int64_t state_begin = 0;
};

std::vector<OwnedPiece> owned(const ParamLayout& layout, const OptimizerShard& shard) {
  std::vector<OwnedPiece> out;
  for (const ParamSlot& slot : layout.slots) {
    const int64_t numel = slot.param->numel();
    if (numel == 0) continue;
    const auto [own_begin, own_end] = bucket_shard(layout, slot.bucket, shard);
    const int64_t begin = std::max(slot.offset, own_begin);
    const int64_t end = std::min(slot.offset + numel, own_end);
    if (begin >= end) continue;
    out.push_back({{slot.param->name, slot.param->shape, begin - slot.offset, end - slot.offset},
                   shard_state_offset(layout, slot.bucket, shard) + (begin - own_begin)});
  }
  return out;
}

std::string dataset_name(const std::string& state, const std::string& param) {
  return "optimizer/" + state + "/" + param;
}

// Where to find elements of one parameter's state: a file, a range, and whether the dataset is
// the whole tensor (non-distributed checkpoints) or a 1-D piece.
struct Source {
  std::string path;
  int64_t begin = 0;
  int64_t end = 0;
};

std::vector<float> read_all(const H5File& file, const std::string& name, int64_t expected) {
  const H5Dataset dataset = file.open_dataset(name);
  int64_t numel = 1;
  const std::vector<int64_t> dims = dataset.dims();
  for (int64_t d : dims) numel *= d;
  if (numel != expected) {
    throw Error(fmt::format("'{}' holds {} elements, expected {}", name, numel, expected),
                file.path());
  }
  std::vector<float> values(static_cast<size_t>(numel));
  if (numel > 0) dataset.read_rows(H5T_NATIVE_FLOAT, 0, dims.at(0), values.data());
  return values;
}

}  // namespace

std::vector<StatePiece> owned_pieces(const ParamLayout& layout, const OptimizerShard& shard) {
  std::vector<StatePiece> out;
  for (const OwnedPiece& p : owned(layout, shard)) out.push_back(p.piece);
  return out;
}

std::string optimizer_shard_file_name(const Topology& topology, int64_t dp_rank) {
  return fmt::format("optim_tp{:02d}_pp{:03d}_dp{:03d}.h5", topology.tp_rank, topology.pp_rank,
                     dp_rank);
}

std::vector<std::pair<std::string, Tensor>> optimizer_piece_tensors(ParamBuffers& buffers,
                                                                    Optimizer& optimizer,
                                                                    bool copy) {
  std::vector<std::pair<std::string, Tensor>> out;
  const std::vector<OwnedPiece> pieces = owned(buffers.layout(), optimizer.shard());
  for (const auto& [state, flat] : optimizer.state_buffers()) {
    for (const OwnedPiece& p : pieces) {
      const Tensor view = flat->view(p.state_begin, {p.piece.end - p.piece.begin});
      out.emplace_back(dataset_name(state, p.piece.param),
                       view.device().is_cpu() && copy ? view.clone() : view.to(Device::cpu()));
    }
  }
  return out;
}

YAML::Node optimizer_shards_yaml(const ParamLayout& layout, const Topology& topology) {
  YAML::Node files;
  for (int64_t r = 0; r < topology.dp; ++r) {
    YAML::Node entry;
    entry["file"] = optimizer_shard_file_name(topology, r);
    entry["dp_rank"] = r;
    for (const StatePiece& p : owned_pieces(layout, OptimizerShard{r, topology.dp})) {
      YAML::Node piece;
      piece["name"] = p.param;
      piece["shape"] = p.shape;
      piece["shape"].SetStyle(YAML::EmitterStyle::Flow);
      piece["begin"] = p.begin;
      piece["end"] = p.end;
      entry["params"].push_back(piece);
    }
    files.push_back(entry);
  }
  return files;
}

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

void load_optimizer_state(const std::string& directory,
                          const std::vector<OptimizerShardFile>& files,
                          const std::string& model_shard_path, ParamBuffers& buffers,
                          Optimizer& optimizer) {
  std::map<std::string, std::vector<Source>> sources;  // by parameter
  for (const OptimizerShardFile& f : files) {
    for (const StatePiece& p : f.pieces) {
      sources[p.param].push_back({(fs::path(directory) / f.file).string(), p.begin, p.end});
    }
  }
  const bool whole = files.empty();
  std::map<std::string, H5File> open_files;
  auto file_at = [&](const std::string& path) -> const H5File& {
    auto it = open_files.find(path);
    if (it == open_files.end()) it = open_files.emplace(path, H5File::open_read(path)).first;
    return it->second;
  };
  const std::vector<OwnedPiece> needed = owned(buffers.layout(), optimizer.shard());
  for (const auto& [state, flat] : optimizer.state_buffers()) {
    Tensor host = Tensor::zeros(flat->shape(), DType::kF32);
    float* out = host.data<float>();
    for (const OwnedPiece& need : needed) {
      const StatePiece& p = need.piece;
      const int64_t numel = shape_numel(p.shape);
      const std::vector<Source> candidates =
          whole ? std::vector<Source>{{model_shard_path, 0, numel}} : sources[p.param];
      int64_t found = 0;
      for (const Source& s : candidates) {
        const int64_t lo = std::max(p.begin, s.begin), hi = std::min(p.end, s.end);
        if (lo >= hi) continue;
        const std::vector<float> values =
            read_all(file_at(s.path), dataset_name(state, p.param), s.end - s.begin);
        std::copy(values.begin() + (lo - s.begin), values.begin() + (hi - s.begin),
                  out + need.state_begin + (lo - p.begin));
        found += hi - lo;
      }
      if (found != p.end - p.begin) {
        throw Error(fmt::format("optimizer state '{}' of '{}' covers {} of the {} elements "
                                "[{}, {}) this rank needs",
                                state, p.param, found, p.end - p.begin, p.begin, p.end),
                    directory);
      }
    }
    flat->copy_from(host.to(flat->device()));
  }
}

}  // namespace me
