// GPTDataset index cache: /document_index (int32), /sample_index (int64, (count + 1, 2)),
// /shuffle_index (int64) and the description that names the settings the indices were built for.
#include "datasets/gpt_index_cache.h"

#include <fmt/format.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include "datasets/index_cache_file.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr IndexCacheFormat kFormat{"megatron-engine-gpt-indices", 1};

template <typename T>
std::vector<T> read_all(const H5Dataset& dataset, hid_t mem_type, size_t row_width) {
  const auto dims = dataset.dims();
  if (dims.empty() || (row_width == 2 && (dims.size() != 2 || dims[1] != 2)) ||
      (row_width == 1 && dims.size() != 1)) {
    throw Error(fmt::format("dataset {} has the wrong shape", dataset.name()));
  }
  std::vector<T> out(static_cast<size_t>(dims[0]) * row_width);
  dataset.read_rows(mem_type, 0, dims[0], out.data());
  return out;
}

GPTIndices read_indices(const std::string& path, const std::string& description) {
  const H5File file = open_index_cache(path, kFormat, description);
  GPTIndices out;
  out.document_index = read_all<int32_t>(file.open_dataset("document_index"), H5T_NATIVE_INT32, 1);
  out.sample_index = read_all<int64_t>(file.open_dataset("sample_index"), H5T_NATIVE_INT64, 2);
  out.shuffle_index = read_all<int64_t>(file.open_dataset("shuffle_index"), H5T_NATIVE_INT64, 1);
  return out;
}

}  // namespace

std::string gpt_index_cache_path(const std::string& data_path,
                                 const std::optional<std::string>& cache_dir,
                                 const std::string& description) {
  return index_cache_path(data_path, cache_dir, "", description);
}

std::optional<GPTIndices> load_gpt_index_cache(const std::string& path,
                                               const std::string& description,
                                               DocumentRange documents,
                                               std::span<const int64_t> document_offsets,
                                               const EpochPlan& plan) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  try {
    GPTIndices indices = read_indices(path, description);
    const std::string problem = check_gpt_indices(indices, documents, document_offsets, plan);
    if (problem.empty()) {
      spdlog::info("{}: reusing the cached GPT indices ({} samples)", path, indices.num_samples());
      return indices;
    }
    spdlog::warn("{}: index cache is inconsistent ({}); rebuilding it", path, problem);
  } catch (const Error& e) {
    spdlog::warn("{}: index cache is unreadable ({}); rebuilding it", path, e.message());
  }
  return std::nullopt;
}

bool save_gpt_index_cache(const std::string& path, const std::string& description,
                          const GPTIndices& indices) {
  return write_index_cache(path, kFormat, description, [&](H5File& file) {
    const auto count = static_cast<int64_t>(indices.shuffle_index.size());
    const auto docs = static_cast<int64_t>(indices.document_index.size());
    file.create_dataset("document_index", H5T_STD_I32LE, {docs})
        .write_rows(H5T_NATIVE_INT32, 0, docs, indices.document_index.data());
    file.create_dataset("sample_index", H5T_STD_I64LE, {count + 1, 2})
        .write_rows(H5T_NATIVE_INT64, 0, count + 1, indices.sample_index.data());
    file.create_dataset("shuffle_index", H5T_STD_I64LE, {count})
        .write_rows(H5T_NATIVE_INT64, 0, count, indices.shuffle_index.data());
  });
}

}  // namespace me
