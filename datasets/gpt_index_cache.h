// The on-disk cache of GPTDataset indices (docs/formats.md): one HDF5 file per (dataset file,
// split, settings), named by a hash of its description and written atomically (temp + rename).
#pragma once

#include <optional>
#include <string>

#include "datasets/gpt_indices.h"

namespace me {

// `<cache_dir>/<stem of data_path>-<hash of description>.idx.h5`; cache_dir defaults to
// `<directory of data_path>/cache`.
std::string gpt_index_cache_path(const std::string& data_path,
                                 const std::optional<std::string>& cache_dir,
                                 const std::string& description);

// The indices stored at `path` if it exists, holds exactly `description` and passes
// check_gpt_indices; a damaged or mismatching file is logged as a warning and yields nullopt.
std::optional<GPTIndices> load_gpt_index_cache(const std::string& path,
                                               const std::string& description,
                                               DocumentRange documents,
                                               std::span<const int64_t> document_offsets,
                                               const EpochPlan& plan);

// Writes the cache (creating its directory); a failure (read-only disk) is logged, not thrown:
// the indices are still usable from memory. Returns whether the file was written.
bool save_gpt_index_cache(const std::string& path, const std::string& description,
                          const GPTIndices& indices);

}  // namespace me
