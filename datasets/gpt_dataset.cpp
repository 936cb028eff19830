// GPTDataset: splits the documents, loads or builds the indices (gpt_indices.h, cached by
// gpt_index_cache.h) and assembles batches with Megatron's loss_mask and position_ids rules.
#include "datasets/gpt_dataset.h"

#include <fmt/format.h>

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "datasets/gpt_index_cache.h"
#include "engine/recipe/recipe.h"

namespace me {
namespace {

bool is_number(const std::string& text) {
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

// One file, optionally with a weight ("1.0 path"); several files would be a blend.
std::string single_data_path(const DataConfig& data) {
  const auto& paths = data.data_path;
  if (paths.empty()) {
    throw Error(
        "no dataset given: set data.data_path to a token dataset (.h5) or "
        "data.mock_data: true",
        "data.data_path");
  }
  if (paths.size() == 1) return paths[0];
  if (paths.size() == 2 && is_number(paths[0])) return paths[1];
  throw Error(fmt::format("{} entries given; blending several datasets arrives with the "
                          "data-at-scale work, so give one token dataset for now",
                          paths.size()),
              "data.data_path");
}

std::shared_ptr<DocumentSource> open_source(const Recipe& recipe) {
  if (!recipe.data.mock_data) return open_token_store_source(single_data_path(recipe.data));
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
  seq_length_ = recipe.model.seq_length;
  if (seq_length_ <= 0) {
    throw Error(fmt::format("seq_length {} must be positive", seq_length_), "model.seq_length");
  }
  eod_mask_loss_ = recipe.data.eod_mask_loss;
  reset_position_ids_ = recipe.data.reset_position_ids;
  source_ = open_source(recipe);
  // Megatron's mock mode forces an equal three-way split.
  const std::string split_string = recipe.data.mock_data ? "1,1,1" : recipe.data.split;
  documents_ = split_document_range(split_string, request.split, source_->num_documents());
  const char* name = split_name(request.split);
  if (documents_.size() == 0) {
    throw Error(fmt::format("the {} split of {} is empty: split '{}' gives it none of the {} "
                            "documents",
                            name, source_->name(), split_string, source_->num_documents()),
                "data.split");
  }
  const auto& offsets = source_->document_offsets();
  const int64_t tokens = offsets[documents_.end] - offsets[documents_.begin];
  if (tokens < seq_length_ + 1) {
    throw Error(fmt::format("the {} split of {} (documents [{}, {}) under split '{}') holds {} "
                            "tokens, fewer than one sample of seq_length + 1 = {}",
                            name, source_->name(), documents_.begin, documents_.end, split_string,
                            tokens, seq_length_ + 1),
                "data.split");
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

void GPTDataset::fill_row(const std::vector<int32_t>& sample, int32_t* tokens, int32_t* labels,
                          float* loss_mask, int32_t* position_ids) const {
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

Batch GPTDataset::batch(const std::vector<int64_t>& indices) const {
  const auto b = static_cast<int64_t>(indices.size());
  const auto n = static_cast<size_t>(b * seq_length_);
  std::vector<int32_t> tokens(n), labels(n), position_ids(n);
  std::vector<float> loss_mask(n);
  for (size_t row = 0; row < indices.size(); ++row) {
    const size_t at = row * static_cast<size_t>(seq_length_);
    fill_row(sample_tokens(indices[row]), tokens.data() + at, labels.data() + at,
             loss_mask.data() + at, position_ids.data() + at);
  }
  Batch out;
  const Shape shape{b, seq_length_};
  out.tensors["tokens"] = Tensor::from_vector(tokens, shape);
  out.tensors["labels"] = Tensor::from_vector(labels, shape);
  out.tensors["loss_mask"] = Tensor::from_vector(loss_mask, shape);
  out.tensors["position_ids"] = Tensor::from_vector(position_ids, shape);
  return out;
}

ME_REGISTER(DatasetRegistry, "gpt", GPTDataset);

}  // namespace me
