// The on-disk cache of BlendedDataset indices (docs/formats.md): one HDF5 file per blend, named by
// a hash of its description (every member's description, the weights and the size).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "datasets/blended_indices.h"

namespace me {

// `<cache_dir>/blend-<stem of the first member>-<hash of description>.idx.h5`; cache_dir defaults
// to `<directory of the first member>/cache`.
std::string blended_index_cache_path(const std::string& first_member_path,
                                     const std::optional<std::string>& cache_dir,
                                     const std::string& description);

// The indices at `path` if it exists, holds exactly `description` and passes
// check_blended_indices for `member_sizes`; anything else is logged and yields nullopt.
std::optional<BlendedIndices> load_blended_index_cache(const std::string& path,
                                                       const std::string& description,
                                                       std::span<const int64_t> member_sizes,
                                                       int64_t size);

// Writes the cache atomically (temp + rename); a failure is logged, not thrown.
bool save_blended_index_cache(const std::string& path, const std::string& description,
                              const BlendedIndices& indices);

}  // namespace me
