// BlendedDataset index cache: /dataset_index (int32), /dataset_sample_index (int64) and the
// description of the blend they were built for.
#include "datasets/blended_index_cache.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include "datasets/gpt_index_cache.h"
#include "datasets/hdf5_file.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr const char* kFormatName = "megatron-engine-blend-indices";
constexpr int64_t kFormatVersion = 1;

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
  const std::filesystem::path data(first_member_path);
  const std::filesystem::path dir =
      cache_dir ? std::filesystem::path(*cache_dir) : data.parent_path() / "cache";
  return (dir / fmt::format("blend-{}-{}.idx.h5", data.stem().string(), fnv1a_hex(description)))
      .string();
}

std::optional<BlendedIndices> load_blended_index_cache(const std::string& path,
                                                       const std::string& description,
                                                       std::span<const int64_t> member_sizes,
                                                       int64_t size) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  try {
    const H5File file = H5File::open_read(path);
    if (file.string_attr("format") != std::string(kFormatName) ||
        file.int_attr("format_version") != kFormatVersion) {
      throw Error("not a megatron-engine blend index cache of this version", path);
    }
    if (file.string_attr("description") != description) {
      throw Error("built for another blend (description differs)", path);
    }
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
  const std::string temp = fmt::format("{}.tmp-{}", path, ::getpid());
  try {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    H5File file = H5File::create(temp);
    const int64_t size = indices.size();
    file.create_dataset("dataset_index", H5T_STD_I32LE, {size})
        .write_rows(H5T_NATIVE_INT32, 0, size, indices.dataset_index.data());
    file.create_dataset("dataset_sample_index", H5T_STD_I64LE, {size})
        .write_rows(H5T_NATIVE_INT64, 0, size, indices.dataset_sample_index.data());
    file.set_attr("format", std::string(kFormatName));
    file.set_attr("format_version", kFormatVersion);
    file.set_attr("description", description);
    file.close();
    std::filesystem::rename(temp, path);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("{}: cannot write the blend index cache ({}); using the indices from memory", path,
                 e.what());
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    return false;
  }
}

}  // namespace me
