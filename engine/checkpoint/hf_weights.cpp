// Hugging Face weight directories: single-file or sharded safetensors with an index.
#include "engine/checkpoint/hf_weights.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace me {
namespace fs = std::filesystem;
namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("not valid JSON: ") + e.what(), path.string());
  }
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error("cannot write", tmp.string());
  }
  fs::rename(tmp, path);
}

}  // namespace

HfWeights::HfWeights(const std::string& dir) : dir_(dir) {
  const fs::path index_path = fs::path(dir) / kIndexName;
  if (!fs::exists(index_path)) {
    const fs::path single = fs::path(dir) / kSingleName;
    if (!fs::exists(single)) {
      throw Error(fmt::format("no {} or {} (only safetensors weights are supported)", kSingleName,
                              kIndexName),
                  dir);
    }
    auto file = std::make_unique<SafetensorsFile>(single.string());
    for (const auto& name : file->names()) file_of_[name] = file.get();
    files_[kSingleName] = std::move(file);
    return;
  }
  const nlohmann::json index = read_json(index_path);
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error("has no weight_map object", index_path.string());
  }
  std::map<std::string, std::set<std::string>> mapped;  // shard -> tensors
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string())
      throw Error("weight_map entry '" + name + "' is not a file name", index_path.string());
    const std::string file = shard.get<std::string>();
    if (file.find('/') != std::string::npos) {
      throw Error("weight_map entry '" + name + "' names a file outside the directory: " + file,
                  index_path.string());
    }
    mapped[file].insert(name);
  }
  for (const auto& [shard, names] : mapped) {
    auto file = std::make_unique<SafetensorsFile>((fs::path(dir) / shard).string());
    for (const auto& name : names) {
      if (!file->contains(name)) {
        throw Error("weight_map puts tensor '" + name + "' in " + shard + " but it is not there",
                    index_path.string());
      }
      file_of_[name] = file.get();
    }
    for (const auto& name : file->names()) {
      if (!names.count(name)) {
        throw Error("tensor '" + name + "' is in " + shard + " but not in weight_map",
                    index_path.string());
      }
    }
    files_[shard] = std::move(file);
  }
}

std::vector<std::string> HfWeights::names() const {
  std::vector<std::string> out;
  for (const auto& [name, file] : file_of_) out.push_back(name);
  return out;
}

Tensor HfWeights::read(const std::string& name) const {
  const auto it = file_of_.find(name);
  if (it == file_of_.end()) throw Error("missing tensor '" + name + "'", dir_);
  return it->second->read(name);
}

DType HfWeights::stored_dtype(const std::string& name) const {
  const auto it = file_of_.find(name);
  if (it == file_of_.end()) throw Error("missing tensor '" + name + "'", dir_);
  return dtype_from_safetensors(it->second->entry(name).dtype,
                                it->second->path() + ": tensor '" + name + "'");
}

std::vector<std::string> write_hf_weights(const std::string& dir,
                                          const std::map<std::string, Tensor>& tensors, DType dtype,
                                          int64_t max_shard_bytes) {
  if (max_shard_bytes <= 0)
    throw Error("the shard size limit must be positive", "--max-shard-size");
  fs::create_directories(dir);
  std::vector<std::map<std::string, Tensor>> shards(1);
  int64_t shard_bytes = 0, total = 0;
  for (const auto& [name, tensor] : tensors) {
    const int64_t bytes = tensor.numel() * static_cast<int64_t>(dtype_size(dtype));
    // As transformers does: a tensor larger than the limit gets a shard of its own.
    if (!shards.back().empty() && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back()[name] = tensor;
    shard_bytes += bytes;
    total += bytes;
  }
  std::vector<std::string> written;
  fs::remove(fs::path(dir) / kIndexName);
  if (shards.size() == 1) {
    write_safetensors((fs::path(dir) / kSingleName).string(), shards[0], dtype);
    written.push_back(kSingleName);
    return written;
  }
  fs::remove(fs::path(dir) / kSingleName);
  nlohmann::json index;
  index["metadata"]["total_size"] = total;
  index["weight_map"] = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name =
        fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    write_safetensors((fs::path(dir) / name).string(), shards[i], dtype);
    for (const auto& [tensor_name, t] : shards[i]) index["weight_map"][tensor_name] = name;
    written.push_back(name);
  }
  write_text_atomically(fs::path(dir) / kIndexName, index.dump(2) + "\n");
  written.push_back(kIndexName);
  return written;
}

}  // namespace me
