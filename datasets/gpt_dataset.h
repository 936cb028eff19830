// GPTDataset (Megatron's gpt_dataset.py): samples of seq_length + 1 tokens cut across document
// boundaries of one split, in a seeded shuffled order, with indices cached beside the data.
// Batches hold tokens, labels, loss_mask and position_ids, each (B, seq_length).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/document_source.h"
#include "datasets/gpt_indices.h"

namespace me {

class GPTDataset final : public Dataset {
 public:
  // Reads recipe.data (data_path with one file, split, data_cache_path, mock_data,
  // eod_mask_loss, reset_position_ids), model.seq_length and train.seed. Throws me::Error naming
  // the field and file for an empty split, a split too small for one sample, or a blend.
  explicit GPTDataset(const DatasetRequest& request);

  int64_t size() const override { return indices_.num_samples(); }
  Batch batch(const std::vector<int64_t>& indices) const override;

  // The seq_length + 1 tokens of sample i (after shuffling).
  std::vector<int32_t> sample_tokens(int64_t i) const;
  const GPTIndices& indices() const { return indices_; }
  DocumentRange documents() const { return documents_; }
  const DocumentSource& source() const { return *source_; }
  // The index cache file ("" for mock data, or when it could not be written).
  const std::string& cache_path() const { return cache_path_; }

 private:
  void load_or_build_indices(const DatasetRequest& request, const std::string& split_string);
  // Writes one row of each output for the s + 1 tokens of a sample.
  void fill_row(const std::vector<int32_t>& sample, int32_t* tokens, int32_t* labels,
                float* loss_mask, int32_t* position_ids) const;

  std::shared_ptr<DocumentSource> source_;
  DocumentRange documents_;
  int64_t seq_length_ = 0;
  bool eod_mask_loss_ = false;
  bool reset_position_ids_ = false;
  GPTIndices indices_;
  std::string cache_path_;
};

}  // namespace me
