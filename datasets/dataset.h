// Training datasets: indexable samples turned into named-tensor batches, built by registered name.
// Each declares its per-sample fields, the contract a model's inputs are checked against.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/batch.h"
#include "engine/registry/registry.h"

namespace me {

struct Recipe;

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;  // number of samples
  // What one sample holds; batch() yields exactly these, each (B, shape...).
  virtual std::vector<TensorSpec> fields() const = 0;
  // A batch (B = indices.size()) of samples by index (indices taken modulo nothing: each must be
  // in [0, size())).
  virtual Batch batch(const std::vector<int64_t>& indices) const = 0;
  // What the samples were built from (file fingerprint, split, settings): a blend over this
  // dataset keys its index cache on it.
  virtual const std::string& description() const = 0;
};

enum class Split { kTrain = 0, kValid = 1, kTest = 2 };
const char* split_name(Split split);

// The one file a blend member reads in place of the recipe's data lists.
struct BlendMemberFile {
  std::string path;         // a token-store file, prefix resolved
  bool whole_file = false;  // per-split blends: every document serves the split
  std::string field;        // the recipe field that named it, for errors
};

struct DatasetRequest {
  const Recipe& recipe;
  Split split;
  int64_t num_samples;  // samples the trainer will read from this split
  // Set when BlendedDataset builds this dataset as one of its members; every dataset type that
  // can be blended reads this file instead of recipe.data's lists.
  std::optional<BlendMemberFile> member_file = std::nullopt;
};

ME_DECLARE_REGISTRY(DatasetRegistry, "dataset", Dataset, const DatasetRequest&);

}  // namespace me
