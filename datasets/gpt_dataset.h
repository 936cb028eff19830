// GPTDataset (Megatron's gpt_dataset.py): samples of seq_length + 1 tokens cut across document
// boundaries of one split, in a seeded shuffled order, with indices cached beside the data.
// Batches hold tokens, labels, loss_mask and position_ids, each (B, seq_length).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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

// Fills one sample's rows of seq_length entries: tokens, labels, loss_mask, position_ids.
using SampleFiller = std::function<void(int64_t sample, int32_t* tokens, int32_t* labels,
                                        float* loss_mask, int32_t* position_ids)>;

// The GPT batch (B = samples.size(), each tensor (B, seq_length)) from a filler; with
// `document_eod` set it adds "document_ids" for reset_attention_mask.
Batch assemble_gpt_batch(const std::vector<int64_t>& samples, int64_t seq_length,
                         const SampleFiller& fill, std::optional<int32_t> document_eod);

class GPTDataset final : public Dataset {
 public:
  // Reads recipe.data (one file from data_path or the split's <split>_data_path, split,
  // data_cache_path, mock_data), its gpt family (GptDataConfig), model.seq_length and
  // train.seed. Throws me::Error naming the field and file for an empty split, a split too small
  // for one sample, or several files (those go through BlendedDataset).
  explicit GPTDataset(const DatasetRequest& request);
  // One member of a blend: `source`, cut by data.split, or whole when `whole_file` (per-split
  // blends); `field` is the recipe field errors name.
  GPTDataset(const DatasetRequest& request, std::shared_ptr<DocumentSource> source,
             bool whole_file, const std::string& field);

  int64_t size() const override { return indices_.num_samples(); }
  Batch batch(const std::vector<int64_t>& indices) const override;

  // The seq_length + 1 tokens of sample i (after shuffling).
  std::vector<int32_t> sample_tokens(int64_t i) const;
  const GPTIndices& indices() const { return indices_; }
  DocumentRange documents() const { return documents_; }
  const DocumentSource& source() const { return *source_; }
  // The index cache file ("" for mock data, or when it could not be written).
  const std::string& cache_path() const { return cache_path_; }
  // What the indices were built for (file fingerprint, split, settings): the cache key.
  const std::string& description() const { return description_; }
  // Writes row i's tokens, labels, loss_mask and position_ids (seq_length each).
  void fill_sample(int64_t i, int32_t* tokens, int32_t* labels, float* loss_mask,
                   int32_t* position_ids) const;

 private:
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
