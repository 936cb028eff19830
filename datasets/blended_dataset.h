// BlendedDataset (Megatron's blended_dataset.py): samples drawn from several datasets of one
// registered type, one per file, in the proportions of their weights (or their sizes), with the
// blend indices cached beside the data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/blend.h"
#include "datasets/blended_indices.h"
#include "datasets/dataset.h"

namespace me {

class BlendedDataset final : public Dataset {
 public:
  // The split's blend (split_blend) of `member_type` datasets (a DatasetRegistry name), each
  // built with its file in DatasetRequest::member_file. Every file must share one tokenizer (type
  // and sha256) and every member the same fields. With weights each member is built for
  // ceil(ceil(S * w_j) * 1.005) samples and the blend holds sum_j ceil(S * w_j); without weights
  // each member is one epoch, weighted by its size, and the blend holds min(S, total) (all of
  // them when S <= 0). Throws me::Error naming the field.
  BlendedDataset(const std::string& member_type, const DatasetRequest& request);

  int64_t size() const override { return indices_.size(); }
  std::vector<TensorSpec> fields() const override { return fields_; }
  // Each member reads its rows as one batch; the rows are then copied into place.
  Batch batch(const std::vector<int64_t>& indices) const override;
  // The index cache's key: the split, size, weights and every member's description.
  const std::string& description() const override { return description_; }

  const BlendedIndices& indices() const { return indices_; }
  const std::vector<double>& weights() const { return weights_; }
  const Dataset& member(size_t i) const { return *members_[i]; }
  size_t num_members() const { return members_.size(); }
  // The index cache file ("" when it could not be written).
  const std::string& cache_path() const { return cache_path_; }

 private:
  void open_members(const std::string& member_type, const DatasetRequest& request,
                    const Blend& blend);
  void load_or_build_indices(const DatasetRequest& request, const Blend& blend, int64_t size);

  std::vector<std::unique_ptr<Dataset>> members_;
  std::vector<TensorSpec> fields_;  // every member's
  std::vector<double> weights_;     // normalised, as the blend was built with
  BlendedIndices indices_;
  std::string description_;
  std::string cache_path_;
};

}  // namespace me
