// The frame every index cache shares (docs/formats.md): one HDF5 file tagged with its format name,
// version and the description of the settings it was built for, named by a hash of that
// description and written atomically (temporary file + rename).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "datasets/hdf5_file.h"

namespace me {

struct IndexCacheFormat {
  const char* name;
  int64_t version;
};

// `<cache_dir>/<prefix><stem of data_path>-<hash of description>.idx.h5`; cache_dir defaults to
// `<directory of data_path>/cache`.
std::string index_cache_path(const std::string& data_path,
                             const std::optional<std::string>& cache_dir,
                             const std::string& prefix, const std::string& description);

// Opens a cache file; throws me::Error when its format, version or description differ.
H5File open_index_cache(const std::string& path, const IndexCacheFormat& format,
                        const std::string& description);

// Writes a cache file (creating its directory) with the datasets `write_datasets` adds. A failure
// (read-only disk) is logged, not thrown: the indices stay usable from memory. Returns whether
// the file was written.
bool write_index_cache(const std::string& path, const IndexCacheFormat& format,
                       const std::string& description,
                       const std::function<void(H5File&)>& write_datasets);

}  // namespace me
