// BlendedDataset: checks the files share a tokenizer, builds each member by registered name for its
// share and checks they yield the same fields, then builds or loads the blend indices and copies
// the members' rows through them.
#include "datasets/blended_dataset.h"

#include <fmt/format.h>

#include <numeric>

#include <spdlog/spdlog.h>

#include "datasets/blended_index_cache.h"
#include "datasets/same_tokenizer.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"

namespace me {

namespace {

std::string describe_fields(const std::vector<TensorSpec>& fields) {
  std::vector<std::string> parts;
  for (const TensorSpec& f : fields) parts.push_back(f.name + " " + describe_spec(f));
  return fmt::format("{{{}}}", fmt::join(parts, ", "));
}

}  // namespace

BlendedDataset::BlendedDataset(const std::string& member_type, const DatasetRequest& request) {
  const Blend blend = split_blend(request.recipe.data, request.split);
  if (blend.paths.empty()) {
    throw Error("no dataset given: the blend names no token dataset", blend.field);
  }
  if (blend.paths.size() >= 32767) {
    throw Error(fmt::format("{} datasets in one blend; at most 32766", blend.paths.size()),
                blend.field);
  }
  open_members(member_type, request, blend);
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

void BlendedDataset::open_members(const std::string& member_type, const DatasetRequest& request,
                                  const Blend& blend) {
  std::vector<int64_t> requests(blend.paths.size(), 0);  // 0: one epoch (unweighted blends)
  if (blend.weighted()) {
    if (request.num_samples <= 0) {
      throw Error("a weighted blend needs a sample count (train_iters or train_samples)",
                  blend.field);
    }
    requests = blend_member_requests(blend.weights, request.num_samples, kMidLevelDatasetSurplus);
  }
  // Every blend is over token stores, whatever its members make of them: one tokenizer for all.
  const TokenStoreMeta first = TokenStore::open(blend.paths[0])->meta();
  for (size_t i = 1; i < blend.paths.size(); ++i) {
    require_same_tokenizer(blend.paths[0], first, blend.paths[i],
                           TokenStore::open(blend.paths[i])->meta(), blend.field);
  }
  for (size_t i = 0; i < blend.paths.size(); ++i) {
    const DatasetRequest member{request.recipe, request.split, requests[i],
                                BlendMemberFile{blend.paths[i], blend.per_split, blend.field}};
    members_.push_back(DatasetRegistry::instance().create(member_type, member));
    const std::vector<TensorSpec> fields = members_.back()->fields();
    if (i == 0) {
      fields_ = fields;
    } else if (fields != fields_) {
      throw Error(fmt::format("{} yields {} but {} yields {}: the members of a blend must yield "
                              "the same fields",
                              blend.paths[i], describe_fields(fields), blend.paths[0],
                              describe_fields(fields_)),
                  blend.field);
    }
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
  description_ = description;
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
  std::vector<std::vector<int64_t>> samples(members_.size()), rows(members_.size());
  for (size_t row = 0; row < indices.size(); ++row) {
    const int64_t i = indices[row];
    ME_CHECK(i >= 0 && i < size(), "blended sample {} outside [0, {})", i, size());
    const auto j = static_cast<size_t>(indices_.dataset_index[static_cast<size_t>(i)]);
    samples[j].push_back(indices_.dataset_sample_index[static_cast<size_t>(i)]);
    rows[j].push_back(static_cast<int64_t>(row));
  }
  Batch out = allocate_batch(fields_, static_cast<int64_t>(indices.size()));
  for (size_t j = 0; j < members_.size(); ++j) {
    if (samples[j].empty()) continue;
    const Batch part = members_[j]->batch(samples[j]);
    ME_CHECK(part.tensors.size() == fields_.size(),
             "member {} yields {} tensors, not its {} fields", j, part.tensors.size(),
             fields_.size());
    copy_batch_rows(part, rows[j], out);
  }
  return out;
}

}  // namespace me
