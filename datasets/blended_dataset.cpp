// BlendedDataset: checks the members share a tokenizer, builds each member's GPTDataset for its
// share, then builds or loads the blend indices and reads samples through them.
#include "datasets/blended_dataset.h"

#include <fmt/format.h>

#include <numeric>

#include <spdlog/spdlog.h>

#include "datasets/blended_index_cache.h"
#include "datasets/document_source.h"
#include "datasets/gpt_dataset_schema.h"
#include "datasets/same_tokenizer.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"

namespace me {

BlendedDataset::BlendedDataset(const DatasetRequest& request) {
  seq_length_ = request.recipe.model.seq_length;
  reset_attention_mask_ = request.recipe.family<GptDataConfig>().reset_attention_mask;
  const Blend blend = split_blend(request.recipe.data, request.split);
  if (blend.paths.empty()) {
    throw Error("no dataset given: the blend names no token dataset", blend.field);
  }
  if (blend.paths.size() >= 32767) {
    throw Error(fmt::format("{} datasets in one blend; at most 32766", blend.paths.size()),
                blend.field);
  }
  open_members(request, blend);
  int64_t size = 0;
  if (blend.weighted()) {
    weights_ = blend.weights;
    size = blend_size(weights_, request.num_samples);
  } else {
    int64_t total = 0;
    for (const auto& m : members_) {
      weights_.push_back(static_cast<double>(m->size()));
      total += m->size();
    }
    for (double& w : weights_) w /= static_cast<double>(total);
    size = request.num_samples > 0 ? std::min(request.num_samples, total) : total;
  }
  load_or_build_indices(request, blend, size);
}

void BlendedDataset::open_members(const DatasetRequest& request, const Blend& blend) {
  std::vector<int64_t> requests(blend.paths.size(), 0);  // 0: one epoch (unweighted blends)
  if (blend.weighted()) {
    if (request.num_samples <= 0) {
      throw Error("a weighted blend needs a sample count (train_iters or train_samples)",
                  blend.field);
    }
    requests = blend_member_requests(blend.weights, request.num_samples, kMidLevelDatasetSurplus);
  }
  std::shared_ptr<TokenStore> first;
  for (size_t i = 0; i < blend.paths.size(); ++i) {
    auto store = TokenStore::open(blend.paths[i]);
    if (first) {
      require_same_tokenizer(first->path(), first->meta(), store->path(), store->meta(),
                             blend.field);
    } else {
      first = store;
    }
    const DatasetRequest member{request.recipe, request.split, requests[i]};
    members_.push_back(std::make_unique<GPTDataset>(member, token_store_source(std::move(store)),
                                                    blend.per_split, blend.field));
  }
}

void BlendedDataset::load_or_build_indices(const DatasetRequest& request, const Blend& blend,
                                           int64_t size) {
  std::string description = fmt::format(
      "class: BlendedDataset\nindex_version: 1\nsplit: {}\nsize: {}\nweighted: {}\nweights:",
      split_name(request.split), size, blend.weighted());
  for (double w : weights_) description += fmt::format(" {:.17g}", w);
  std::vector<int64_t> member_sizes;
  for (const auto& m : members_) {
    description += fmt::format("\nmember:\n{}", m->description());
    member_sizes.push_back(m->size());
  }
  const std::string path =
      blended_index_cache_path(blend.paths[0], request.recipe.data.data_cache_path, description);
  if (auto cached = load_blended_index_cache(path, description, member_sizes, size)) {
    indices_ = std::move(*cached);
    cache_path_ = path;
    return;
  }
  spdlog::info("{}: building blend indices for the {} split ({} datasets, {} samples)", blend.field,
               split_name(request.split), members_.size(), size);
  indices_ = request.num_samples > 0 || blend.weighted()
                 ? build_blended_indices(weights_, size)
                 : build_exhaustive_blended_indices(member_sizes);
  if (const std::string problem = check_blended_indices(indices_, member_sizes); !problem.empty()) {
    throw Error(fmt::format("the blend would read a dataset beyond its length ({}); its members "
                            "are too small for {} samples",
                            problem, size),
                blend.field);
  }
  if (save_blended_index_cache(path, description, indices_)) cache_path_ = path;
}

Batch BlendedDataset::batch(const std::vector<int64_t>& indices) const {
  // Members share a tokenizer, so they share the EOD id.
  const auto eod = reset_attention_mask_ ? std::optional<int32_t>(members_[0]->source().eod_id())
                                         : std::nullopt;
  return assemble_gpt_batch(
      indices, seq_length_,
      [this](int64_t i, int32_t* tokens, int32_t* labels, float* mask, int32_t* positions) {
        ME_CHECK(i >= 0 && i < size(), "blended sample {} outside [0, {})", i, size());
        const auto t = static_cast<size_t>(i);
        members_[static_cast<size_t>(indices_.dataset_index[t])]->fill_sample(
            indices_.dataset_sample_index[t], tokens, labels, mask, positions);
      },
      eod);
}

ME_REGISTER(DatasetRegistry, "blended", BlendedDataset);

}  // namespace me
