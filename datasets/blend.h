// Megatron's blend lists (megatron-facts 3.4): data.data_path or the per-split
// train/valid/test_data_path, parsed into token-store files and optional normalised weights.
#pragma once

#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace me {

struct DataConfig;

struct Blend {
  std::vector<std::string> paths;  // token-store files, prefixes resolved
  std::vector<double> weights;     // normalised to sum 1; empty: weighted by dataset sizes
  std::string field;               // the recipe field it came from, for errors
  bool per_split = false;          // from <split>_data_path: the whole files serve the split
  bool weighted() const { return !weights.empty(); }
};

// Odd length: all paths; even length: (weight, path) pairs, unless some weight does not parse as a
// number, when every entry is a path (Megatron's get_blend_from_list). Weights must be positive.
Blend parse_blend(const std::vector<std::string>& list, const std::string& field);

// The blend feeding `split`: <split>_data_path when any per-split list is set, else data_path.
// Throws me::Error naming the field when that split has no list.
Blend split_blend(const DataConfig& data, Split split);

// Whether `split` reads a BlendedDataset: its list names several files or has weights (mock data
// never does).
bool split_is_blended(const DataConfig& data, Split split);

// Every token-store file the data section names (data_path and the per-split lists), once each.
std::vector<std::string> data_files(const DataConfig& data);

// Mid-level datasets are built this much larger than their share (mid_level_dataset_surplus).
inline constexpr double kMidLevelDatasetSurplus = 0.005;

}  // namespace me
