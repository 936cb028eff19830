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

// data.reset_attention_mask's "document_ids" batch tensor (kernels/attention.h): per input token
// (B, T) -> (B, T) i32, starting at 0 in each row and increasing right after each EOD, so a token
// after an EOD at i never attends to positions <= i (Megatron's get_ltor_masks_and_position_ids).
Tensor document_ids_after_eod(const Tensor& tokens, int32_t eod);

class GPTDataset final : public Dataset {
 public:
  // Reads recipe.data (one file from data_path or the split's <split>_data_path, or the blend
  // member's file; split, data_cache_path, mock_data), its gpt family (GptDataConfig),
  // model.seq_length and train.seed. Throws me::Error naming the field and file for an empty
  // split, a split too small for one sample, or several files (those go through BlendedDataset).
  explicit GPTDataset(const DatasetRequest& request);

  int64_t size() const override { return indices_.num_samples(); }
  // tokens, labels, position_ids (i32) and loss_mask (f32), each {seq_length}; document_ids (i32
  // {seq_length}) too with data.reset_attention_mask.
  std::vector<TensorSpec> fields() const override;
  Batch batch(const std::vector<int64_t>& indices) const override;
  // What the indices were built for (file fingerprint, split, settings): the cache key.
  const std::string& description() const override { return description_; }

  // The seq_length + 1 tokens of sample i (after shuffling).
  std::vector<int32_t> sample_tokens(int64_t i) const;
  const GPTIndices& indices() const { return indices_; }
  DocumentRange documents() const { return documents_; }
  const DocumentSource& source() const { return *source_; }
  // The index cache file ("" for mock data, or when it could not be written).
  const std::string& cache_path() const { return cache_path_; }

 private:
  // Writes row i's tokens, labels, loss_mask and position_ids (seq_length each).
  void fill_sample(int64_t i, int32_t* tokens, int32_t* labels, float* loss_mask,
                   int32_t* position_ids) const;
  // Splits the source's documents and builds or loads the indices; `field` names errors.
  void init(const DatasetRequest& request, std::shared_ptr<DocumentSource> source,
            const std::string& split_string, const std::string& field);
  void load_or_build_indices(const DatasetRequest& request, const std::string& split_string);

  std::shared_ptr<DocumentSource> source_;
  DocumentRange documents_;
  int64_t seq_length_ = 0;
  bool eod_mask_loss_ = false;
  bool reset_position_ids_ = false;
  bool reset_attention_mask_ = false;
  GPTIndices indices_;
  std::string cache_path_;
  std::string description_;
};

}  // namespace me
