// Every tensor of a version-2 (or later) checkpoint by name, across all of its shard files, so a
// rank of any layout reads exactly the slices it holds from whichever stored pieces overlap them.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/checkpoint/shard_file.h"
#include "engine/checkpoint/tensor_placement.h"

namespace me {

class CheckpointIndex {
 public:
  // Lists the datasets of `files` (paths of shard files, already sha256-verified).
  explicit CheckpointIndex(const std::vector<std::string>& files);

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  // Every stored tensor whose name starts with `prefix` ("model/"), with its full shape.
  std::map<std::string, Shape> shapes(const std::string& prefix) const;
  // The optimizer state names stored ("exp_avg", "exp_avg_sq", "momentum_buffer", ...).
  std::set<std::string> optimizer_states() const;
  // Fills `out` with the elements `want` holds of tensor `name` ("model/<param>" or
  // "optimizer/<state>/<param>"). A tensor not stored, a global shape that differs from
  // want.global_shape, or elements no stored piece holds are me::Errors naming the tensor and a
  // file. The exception: a vocabulary table (word embeddings, output layer, and their state)
  // whose rows differ, because another tensor-parallel size padded the vocabulary to another
  // multiple, is read whole, cut or extended with copies of its last row (Megatron's
  // checkpoint converter's rule), then sliced.
  void read(const std::string& name, const Placement& want, float* out);

 private:
  void read_exact(const std::string& name, const std::vector<ShardEntry>& entries,
                  const Placement& want, float* out);
  void read_repadded(const std::string& name, const std::vector<ShardEntry>& entries,
                     const Placement& want, float* out);

  std::vector<std::string> files_;
  std::map<std::string, std::vector<ShardEntry>> entries_;       // by dataset name
  std::map<std::string, std::unique_ptr<ShardReader>> readers_;  // opened on first use
};

}  // namespace me
