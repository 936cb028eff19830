// Index cache files: naming by FNV-1a of the description, format checks, atomic writes.
#include "datasets/index_cache_file.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "engine/core/error.h"

namespace me {
namespace {

// 16 hex digits of the 64-bit FNV-1a hash of `text`.
std::string fnv1a_hex(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace

std::string index_cache_path(const std::string& data_path,
                             const std::optional<std::string>& cache_dir,
                             const std::string& prefix, const std::string& description) {
  const std::filesystem::path data(data_path);
  const std::filesystem::path dir =
      cache_dir ? std::filesystem::path(*cache_dir) : data.parent_path() / "cache";
  return (dir / fmt::format("{}{}-{}.idx.h5", prefix, data.stem().string(),
                            fnv1a_hex(description)))
      .string();
}

H5File open_index_cache(const std::string& path, const IndexCacheFormat& format,
                        const std::string& description) {
  H5File file = H5File::open_read(path);
  if (file.string_attr("format") != std::string(format.name) ||
      file.int_attr("format_version") != format.version) {
    throw Error(fmt::format("not a {} file of version {}", format.name, format.version), path);
  }
  if (file.string_attr("description") != description) {
    throw Error("built for other settings (description differs)", path);
  }
  return file;
}

bool write_index_cache(const std::string& path, const IndexCacheFormat& format,
                       const std::string& description,
                       const std::function<void(H5File&)>& write_datasets) {
  const std::string temp = fmt::format("{}.tmp-{}", path, ::getpid());
  try {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    H5File file = H5File::create(temp);
    write_datasets(file);
    file.set_attr("format", std::string(format.name));
    file.set_attr("format_version", format.version);
    file.set_attr("description", description);
    file.close();
    std::filesystem::rename(temp, path);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("{}: cannot write the index cache ({}); using the indices from memory", path,
                 e.what());
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    return false;
  }
}

}  // namespace me
