// Blend-list parsing and the choice between a plain dataset and a BlendedDataset per split.
#include "datasets/blend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <utility>

#include "datasets/document_source.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"

namespace me {
namespace {

bool parse_number(const std::string& text, double* value) {
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

const std::vector<std::string>& per_split_list(const DataConfig& data, Split split) {
  switch (split) {
    case Split::kTrain:
      return data.train_data_path;
    case Split::kValid:
      return data.valid_data_path;
    case Split::kTest:
      return data.test_data_path;
  }
  return data.train_data_path;
}

bool has_per_split_lists(const DataConfig& data) {
  return !data.train_data_path.empty() || !data.valid_data_path.empty() ||
         !data.test_data_path.empty();
}

}  // namespace

Blend parse_blend(const std::vector<std::string>& list, const std::string& field) {
  Blend blend;
  blend.field = field;
  bool pairs = list.size() % 2 == 0 && !list.empty();
  std::vector<double> weights;
  for (size_t i = 0; pairs && i < list.size(); i += 2) {
    double w = 0;
    pairs = parse_number(list[i], &w);
    weights.push_back(w);
  }
  if (!pairs) {
    for (const auto& entry : list) blend.paths.push_back(resolve_token_store_path(entry));
    return blend;
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!(weights[i] > 0)) {
      throw Error(
          fmt::format("blend weight {} of {} must be positive", list[2 * i], list[2 * i + 1]),
          field);
    }
    blend.paths.push_back(resolve_token_store_path(list[2 * i + 1]));
  }
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  for (double w : weights) blend.weights.push_back(w / total);
  return blend;
}

Blend split_blend(const DataConfig& data, Split split) {
  if (!has_per_split_lists(data)) return parse_blend(data.data_path, "data.data_path");
  const std::string field = fmt::format("data.{}_data_path", split_name(split));
  const auto& list = per_split_list(data, split);
  if (list.empty()) {
    throw Error(fmt::format("the {} split needs data: per-split blends are set, so give {} too",
                            split_name(split), field),
                field);
  }
  Blend blend = parse_blend(list, field);
  blend.per_split = true;
  return blend;
}

bool split_is_blended(const DataConfig& data, Split split) {
  if (data.mock_data) return false;
  const Blend blend = split_blend(data, split);
  return blend.paths.size() > 1 || blend.weighted();
}

std::vector<std::string> data_files(const DataConfig& data) {
  std::vector<std::string> files;
  const std::pair<const std::vector<std::string>*, const char*> lists[] = {
      {&data.data_path, "data.data_path"},
      {&data.train_data_path, "data.train_data_path"},
      {&data.valid_data_path, "data.valid_data_path"},
      {&data.test_data_path, "data.test_data_path"}};
  for (const auto& [list, field] : lists) {
    if (list->empty()) continue;
    for (auto& path : parse_blend(*list, field).paths) {
      if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
    }
  }
  return files;
}

}  // namespace me
