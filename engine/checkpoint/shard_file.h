// One checkpoint shard file (format version 2 or 3): float32 datasets named "model/<param>" or
// "optimizer/<state>/<param>", each with HDF5 attributes saying where its elements sit in the full
// tensor (global_shape, partition, elements), read back by hyperslab rather than whole.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/hdf5_file.h"
#include "engine/checkpoint/tensor_placement.h"
#include "engine/core/tensor.h"

namespace me {

// Writes a shard file one tensor at a time, so the writer holds one tensor, not the shard.
class ShardWriter {
 public:
  explicit ShardWriter(const std::string& path);  // creates (truncating) `path`
  // One dataset with its placement attributes.
  void write(const StoredTensor& tensor);
  // Closes the file and fsyncs it, so a rename never publishes unwritten data.
  void close();

 private:
  std::string path_;
  H5Id file_;
  H5Id create_;  // dataset creation: contiguous, no timestamps (same input, same bytes)
  H5Id links_;   // link creation: intermediate groups
};

// Writes (truncating), closes and fsyncs `path` with every tensor and its placement attributes.
void write_shard_file(const std::string& path, const std::vector<StoredTensor>& tensors);

// One dataset of a shard file and what it holds.
struct ShardEntry {
  std::string file;     // the shard file's path
  std::string dataset;  // "model/<param>" or "optimizer/<state>/<param>"
  Shape dims;           // the dataset's own shape
  Placement placement;
};

// Every dataset of a version-2 or -3 shard file; a dataset without valid placement attributes is a
// me::Error naming the file and the dataset.
std::vector<ShardEntry> list_shard_file(const std::string& path);

// A shard file opened for hyperslab reads.
class ShardReader {
 public:
  explicit ShardReader(const std::string& path);
  const std::string& path() const { return path_; }
  // For each copy, `length` elements of `dataset` (of shape `dims`) from row-major position
  // `from` into target[to ...], as f32: one hyperslab read per copy.
  void read(const std::string& dataset, const Shape& dims, const std::vector<Copy>& copies,
            float* target) const;

 private:
  std::string path_;
  H5Id file_;
};

}  // namespace me
