// The weights of a Hugging Face model directory: model.safetensors, or shards named by
// model.safetensors.index.json's weight_map. Read by name as f32; written sharded by a size limit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/checkpoint/safetensors.h"

namespace me {

class HfWeights {
 public:
  // Opens dir/model.safetensors.index.json if present (every shard it names must exist and hold
  // exactly the tensors mapped to it), else dir/model.safetensors.
  explicit HfWeights(const std::string& dir);

  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return file_of_.count(name) != 0; }
  Tensor read(const std::string& name) const;  // f32; throws naming the tensor if absent
  DType stored_dtype(const std::string& name) const;

 private:
  std::string dir_;
  std::map<std::string, std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> file_of_;
};

// 5 GB, transformers' default max_shard_size.
constexpr int64_t kDefaultMaxShardBytes = 5'000'000'000;

// Writes tensors into dir as model.safetensors when they fit max_shard_bytes (in `dtype`), else as
// model-0000i-of-0000n.safetensors shards cut in name order plus model.safetensors.index.json.
// Returns the files written.
std::vector<std::string> write_hf_weights(const std::string& dir,
                                          const std::map<std::string, Tensor>& tensors, DType dtype,
                                          int64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace me
