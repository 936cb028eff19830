// BlendedDataset index cache: /dataset_index (int32), /dataset_sample_index (int64) and the
// description of the blend they were built for.
#include "datasets/blended_index_cache.h"

#include <fmt/format.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include "datasets/index_cache_file.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr IndexCacheFormat kFormat{"megatron-engine-blend-indices", 1};

template <typename T>
std::vector<T> read_vector(const H5File& file, const std::string& name, hid_t mem_type,
                           int64_t size) {
  const H5Dataset dataset = file.open_dataset(name);
  const auto dims = dataset.dims();
  if (dims.size() != 1 || dims[0] != size) {
    throw Error(fmt::format("dataset {} does not hold {} entries", name, size), file.path());
  }
  std::vector<T> out(static_cast<size_t>(size));
  dataset.read_rows(mem_type, 0, size, out.data());
  return out;
}

}  // namespace

std::string blended_index_cache_path(const std::string& first_member_path,
                                     const std::optional<std::string>& cache_dir,
                                     const std::string& description) {
  return index_cache_path(first_member_path, cache_dir, "blend-", description);
}

std::optional<BlendedIndices> load_blended_index_cache(const std::string& path,
                                                       const std::string& description,
                                                       std::span<const int64_t> member_sizes,
                                                       int64_t size) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  try {
    const H5File file = open_index_cache(path, kFormat, description);
    BlendedIndices indices;
    indices.dataset_index = read_vector<int32_t>(file, "dataset_index", H5T_NATIVE_INT32, size);
    indices.dataset_sample_index =
        read_vector<int64_t>(file, "dataset_sample_index", H5T_NATIVE_INT64, size);
    const std::string problem = check_blended_indices(indices, member_sizes);
    if (problem.empty()) {
      spdlog::info("{}: reusing the cached blend indices ({} samples)", path, size);
      return indices;
    }
    spdlog::warn("{}: blend index cache is inconsistent ({}); rebuilding it", path, problem);
  } catch (const Error& e) {
    spdlog::warn("{}: blend index cache is unreadable ({}); rebuilding it", path, e.message());
  }
  return std::nullopt;
}

bool save_blended_index_cache(const std::string& path, const std::string& description,
                              const BlendedIndices& indices) {
  return write_index_cache(path, kFormat, description, [&](H5File& file) {
    const int64_t size = indices.size();
    file.create_dataset("dataset_index", H5T_STD_I32LE, {size})
        .write_rows(H5T_NATIVE_INT32, 0, size, indices.dataset_index.data());
    file.create_dataset("dataset_sample_index", H5T_STD_I64LE, {size})
        .write_rows(H5T_NATIVE_INT64, 0, size, indices.dataset_sample_index.data());
  });
}

}  // namespace me
