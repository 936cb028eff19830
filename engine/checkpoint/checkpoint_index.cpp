// CheckpointIndex: a name -> stored pieces map built from the shard files' placement attributes,
// reads planned by plan_copies so each wanted element is read once, from one piece, and
// vocabulary tables re-padded for another tensor-parallel size.
#include "engine/checkpoint/checkpoint_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "engine/core/error.h"

namespace me {
namespace {

// Megatron's vocabulary-sized parameters (and their optimizer state), whose rows past the real
// vocabulary are padding that depends on the tensor-parallel size.
bool is_vocabulary_table(const std::string& dataset) {
  for (const char* table : {"embedding.word_embeddings.weight", "output_layer.weight"}) {
    const std::string suffix = std::string("/") + table;
    if (dataset.size() >= suffix.size() &&
        dataset.compare(dataset.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

CheckpointIndex::CheckpointIndex(const std::vector<std::string>& files) : files_(files) {
  for (const std::string& file : files) {
    for (ShardEntry& e : list_shard_file(file)) entries_[e.dataset].push_back(std::move(e));
  }
}

std::map<std::string, Shape> CheckpointIndex::shapes(const std::string& prefix) const {
  std::map<std::string, Shape> out;
  for (const auto& [name, entries] : entries_) {
    if (name.rfind(prefix, 0) == 0) out.emplace(name, entries.front().placement.global_shape);
  }
  return out;
}

std::set<std::string> CheckpointIndex::optimizer_states() const {
  std::set<std::string> states;
  for (const auto& [name, entries] : entries_) {
    if (name.rfind("optimizer/", 0) != 0) continue;
    const size_t slash = name.find('/', 10);
    if (slash != std::string::npos) states.insert(name.substr(10, slash - 10));
  }
  return states;
}

void CheckpointIndex::read(const std::string& name, const Placement& want, float* out) {
  const auto found = entries_.find(name);
  if (found == entries_.end()) {
    throw Error(
        fmt::format("tensor '{}' is not in the checkpoint (none of its {} shard files "
                    "holds it)",
                    name, files_.size()),
        files_.empty() ? std::string() : std::filesystem::path(files_[0]).parent_path().string());
  }
  const std::vector<ShardEntry>& entries = found->second;
  const Shape& stored = entries.front().placement.global_shape;
  if (is_vocabulary_table(name) && stored.size() == 2 && want.global_shape.size() == 2 &&
      stored[1] == want.global_shape[1] && stored[0] != want.global_shape[0]) {
    read_repadded(name, entries, want, out);
  } else {
    read_exact(name, entries, want, out);
  }
}

void CheckpointIndex::read_exact(const std::string& name, const std::vector<ShardEntry>& entries,
                                 const Placement& want, float* out) {
  std::vector<Placement> sources;
  for (const ShardEntry& e : entries) {
    if (e.placement.global_shape != want.global_shape) {
      throw Error(
          fmt::format("tensor '{}' has shape {} in the checkpoint, the model expects {}", name,
                      shape_str(e.placement.global_shape), shape_str(want.global_shape)),
          e.file);
    }
    sources.push_back(e.placement);
  }
  const CopyPlan plan = plan_copies(want, sources);
  if (plan.missing > 0) {
    throw Error(fmt::format("tensor '{}': {} of the {} elements this rank needs are in no shard "
                            "(the first is flat index {} of the full {} tensor)",
                            name, plan.missing, want.size(), plan.first_missing,
                            shape_str(want.global_shape)),
                entries.front().file);
  }
  for (size_t s = 0; s < entries.size(); ++s) {
    if (plan.per_source[s].empty()) continue;
    const ShardEntry& e = entries[s];
    auto reader = readers_.find(e.file);
    if (reader == readers_.end()) {
      reader = readers_.emplace(e.file, std::make_unique<ShardReader>(e.file)).first;
    }
    reader->second->read(e.dataset, e.dims, plan.per_source[s], out);
  }
}

void CheckpointIndex::read_repadded(const std::string& name, const std::vector<ShardEntry>& entries,
                                    const Placement& want, float* out) {
  const Shape& stored = entries.front().placement.global_shape;
  const int64_t rows = want.global_shape[0], cols = want.global_shape[1];
  std::vector<float> full(static_cast<size_t>(std::max(stored[0], rows) * cols));
  read_exact(name, entries, Placement::whole(stored), full.data());
  for (int64_t r = stored[0]; r < rows; ++r) {
    std::copy_n(full.begin() + (stored[0] - 1) * cols, cols, full.begin() + r * cols);
  }
  for (const Run& run : placement_runs(want)) {
    std::copy_n(full.begin() + run.global, run.length, out + run.held);
  }
}

}  // namespace me
