// GPTDataset: splits the documents, loads or builds the indices (gpt_indices.h, cached by
// gpt_index_cache.h) and assembles batches with Megatron's loss_mask and position_ids rules.
#include "datasets/gpt_dataset.h"

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "datasets/blend.h"
#include "datasets/gpt_dataset_schema.h"
#include "datasets/gpt_index_cache.h"
#include "engine/recipe/recipe.h"

namespace me {
namespace {

// The split string that gives split `which` every document (Megatron's split spoof for
// per-split blends).
std::string whole_file_split(Split which) {
  switch (which) {
    case Split::kTrain:
      return "1,0,0";
    case Split::kValid:
      return "0,1,0";
    case Split::kTest:
      return "0,0,1";
  }
  return "1,0,0";
}

std::shared_ptr<DocumentSource> open_mock_source(const Recipe& recipe) {
  if (!recipe.tokenizer.vocab_size || *recipe.tokenizer.vocab_size < 2) {
    throw Error(
        "data.mock_data needs tokenizer.vocab_size >= 2 (the mock corpus's vocabulary; "
        "its EOD is vocab_size - 1)",
        "tokenizer.vocab_size");
  }
  return make_mock_source(*recipe.tokenizer.vocab_size);
}

}  // namespace

GPTDataset::GPTDataset(const DatasetRequest& request) {
  const Recipe& recipe = request.recipe;
  if (const auto& file = request.member_file) {
    init(request, open_token_store_source(file->path),
         file->whole_file ? whole_file_split(request.split) : recipe.data.split,
         file->whole_file ? file->field : "data.split");
    return;
  }
  if (recipe.data.mock_data) {
    // Megatron's mock mode forces an equal three-way split.
    init(request, open_mock_source(recipe), "1,1,1", "data.split");
    return;
  }
  const Blend blend = split_blend(recipe.data, request.split);
  if (blend.paths.empty()) {
    throw Error(
        "no dataset given: set data.data_path to a token dataset (.h5) or "
        "data.mock_data: true",
        blend.field);
  }
  if (blend.paths.size() > 1) {
    throw Error(fmt::format("{} files given: a blend is built by the 'blended' dataset, not 'gpt'",
                            blend.paths.size()),
                blend.field);
  }
  const std::string& path = blend.paths[0];
  if (blend.per_split) {
    init(request, open_token_store_source(path), whole_file_split(request.split), blend.field);
  } else {
    init(request, open_token_store_source(path), recipe.data.split, "data.split");
  }
}

void GPTDataset::init(const DatasetRequest& request, std::shared_ptr<DocumentSource> source,
                      const std::string& split_string, const std::string& field) {
  const Recipe& recipe = request.recipe;
  seq_length_ = recipe.model.seq_length;
  if (seq_length_ <= 0) {
    throw Error(fmt::format("seq_length {} must be positive", seq_length_), "model.seq_length");
  }
  const GptDataConfig& gpt = recipe.family<GptDataConfig>();
  eod_mask_loss_ = gpt.eod_mask_loss;
  reset_position_ids_ = gpt.reset_position_ids;
  reset_attention_mask_ = gpt.reset_attention_mask;
  source_ = std::move(source);
  documents_ = split_document_range(split_string, request.split, source_->num_documents());
  const char* name = split_name(request.split);
  if (documents_.size() == 0) {
    throw Error(fmt::format("the {} split of {} is empty: split '{}' gives it none of the {} "
                            "documents",
                            name, source_->name(), split_string, source_->num_documents()),
                field);
  }
  const auto& offsets = source_->document_offsets();
  const int64_t tokens = offsets[documents_.end] - offsets[documents_.begin];
  if (tokens < seq_length_ + 1) {
    throw Error(fmt::format("the {} split of {} (documents [{}, {}) under split '{}') holds {} "
                            "tokens, fewer than one sample of seq_length + 1 = {}",
                            name, source_->name(), documents_.begin, documents_.end, split_string,
                            tokens, seq_length_ + 1),
                field);
  }
  load_or_build_indices(request, split_string);
}

void GPTDataset::load_or_build_indices(const DatasetRequest& request,
                                       const std::string& split_string) {
  const Recipe& recipe = request.recipe;
  const auto& offsets = source_->document_offsets();
  const int64_t tokens = offsets[documents_.end] - offsets[documents_.begin];
  const EpochPlan plan = plan_epochs(tokens, request.num_samples, seq_length_);
  const std::string fingerprint = source_->fingerprint();
  const std::string description = fmt::format(
      "class: GPTDataset\nindex_version: 1\nsource: {}\nsplit: {}\nsplit_string: {}\n"
      "documents: [{}, {})\nseq_length: {}\nseed: {}\nnum_samples: {}\n",
      fingerprint, split_name(request.split), split_string, documents_.begin, documents_.end,
      seq_length_, recipe.train.seed, request.num_samples);
  description_ = description;
  std::string path;
  if (!fingerprint.empty()) {
    path = gpt_index_cache_path(source_->name(), recipe.data.data_cache_path, description);
    if (auto cached = load_gpt_index_cache(path, description, documents_, offsets, plan)) {
      indices_ = std::move(*cached);
      cache_path_ = path;
      return;
    }
  }
  spdlog::info("{}: building GPT indices for the {} split ({} epochs, {} samples)", source_->name(),
               split_name(request.split), plan.num_epochs, plan.num_samples);
  indices_ = build_gpt_indices(documents_, offsets, seq_length_, request.num_samples,
                               recipe.train.seed, request.split);
  if (!path.empty() && save_gpt_index_cache(path, description, indices_)) cache_path_ = path;
}

std::vector<int32_t> GPTDataset::sample_tokens(int64_t i) const {
  ME_CHECK(i >= 0 && i < size(), "sample {} outside [0, {})", i, size());
  const auto j = static_cast<size_t>(indices_.shuffle_index[static_cast<size_t>(i)]);
  const auto& rows = indices_.sample_index;
  const int64_t first = rows[2 * j], first_offset = rows[2 * j + 1];
  const int64_t last = rows[2 * j + 2], last_offset = rows[2 * j + 3];
  const auto& offsets = source_->document_offsets();
  std::vector<int32_t> out(static_cast<size_t>(seq_length_ + 1));
  size_t filled = 0;
  for (int64_t position = first; position <= last; ++position) {
    const int32_t doc = indices_.document_index[static_cast<size_t>(position)];
    const int64_t begin = offsets[doc] + (position == first ? first_offset : 0);
    const int64_t end = position == last ? offsets[doc] + last_offset + 1 : offsets[doc + 1];
    ME_CHECK(filled + static_cast<size_t>(end - begin) <= out.size(),
             "sample {} overflows seq_length + 1", i);
    source_->read_tokens(begin, end, out.data() + filled);
    filled += static_cast<size_t>(end - begin);
  }
  ME_CHECK(filled == out.size(), "sample {} has {} tokens, expected {}", i, filled, out.size());
  return out;
}

void GPTDataset::fill_sample(int64_t i, int32_t* tokens, int32_t* labels, float* loss_mask,
                             int32_t* position_ids) const {
  const std::vector<int32_t> sample = sample_tokens(i);
  const int32_t eod = source_->eod_id();
  int32_t position = 0;
  for (int64_t t = 0; t < seq_length_; ++t) {
    tokens[t] = sample[static_cast<size_t>(t)];
    labels[t] = sample[static_cast<size_t>(t + 1)];
    loss_mask[t] = eod_mask_loss_ && tokens[t] == eod ? 0.0f : 1.0f;
    position_ids[t] = position;
    // Positions restart right after each EOD in the input (the EOD keeps its own position).
    position = reset_position_ids_ && tokens[t] == eod ? 0 : position + 1;
  }
}

std::vector<TensorSpec> GPTDataset::fields() const {
  const Shape row{seq_length_};
  std::vector<TensorSpec> out{{"tokens", DType::kI32, row},
                              {"labels", DType::kI32, row},
                              {"loss_mask", DType::kF32, row},
                              {"position_ids", DType::kI32, row}};
  if (reset_attention_mask_) out.push_back({"document_ids", DType::kI32, row});
  return out;
}

Batch GPTDataset::batch(const std::vector<int64_t>& indices) const {
  Batch out = allocate_batch(fields(), static_cast<int64_t>(indices.size()));
  auto* tokens = out.tensors["tokens"].data<int32_t>();
  auto* labels = out.tensors["labels"].data<int32_t>();
  auto* loss_mask = out.tensors["loss_mask"].data<float>();
  auto* position_ids = out.tensors["position_ids"].data<int32_t>();
  for (size_t row = 0; row < indices.size(); ++row) {
    const size_t at = row * static_cast<size_t>(seq_length_);
    fill_sample(indices[row], tokens + at, labels + at, loss_mask + at, position_ids + at);
  }
  if (reset_attention_mask_) {
    out.tensors["document_ids"] = document_ids_after_eod(out.tensors["tokens"], source_->eod_id());
  }
  return out;
}

Tensor document_ids_after_eod(const Tensor& tokens, int32_t eod) {
  ME_CHECK(tokens.ndim() == 2 && tokens.dtype() == DType::kI32, "tokens {} are not (B, T) i32",
           tokens.describe());
  const int64_t t = tokens.dim(1);
  const std::vector<int32_t> in = tokens.to_vector<int32_t>();
  std::vector<int32_t> ids(in.size());
  for (size_t row = 0; row * static_cast<size_t>(t) < in.size(); ++row) {
    int32_t doc = 0;
    for (int64_t i = 0; i < t; ++i) {
      const size_t at = row * static_cast<size_t>(t) + static_cast<size_t>(i);
      ids[at] = doc;
      if (in[at] == eod) ++doc;  // the EOD belongs to the document it ends
    }
  }
  return Tensor::from_vector(ids, tokens.shape());
}

ME_REGISTER(DatasetRegistry, "gpt", GPTDataset);

}  // namespace me
