// Training datasets: indexable samples turned into named-tensor batches, built by registered name.
#pragma once

#include <cstdint>
#include <memory>
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
  // A batch (B = indices.size()) of samples by index (indices taken modulo nothing: each must be
  // in [0, size())). For GPT: tokens, labels, loss_mask, position_ids, each (B, seq_length).
  virtual Batch batch(const std::vector<int64_t>& indices) const = 0;
};

enum class Split { kTrain = 0, kValid = 1, kTest = 2 };
const char* split_name(Split split);

struct DatasetRequest {
  const Recipe& recipe;
  Split split;
  int64_t num_samples;  // samples the trainer will read from this split
};

ME_DECLARE_REGISTRY(DatasetRegistry, "dataset", Dataset, const DatasetRequest&);

}  // namespace me
