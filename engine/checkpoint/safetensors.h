// safetensors files (Hugging Face's format): an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the raw little-endian tensors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace me {

// One tensor's header entry; offsets are relative to the end of the header.
struct SafetensorsEntry {
  std::string dtype;  // the format's spelling: F32, BF16, F16, I64, ...
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// A read-only, memory-mapped safetensors file whose header was validated on open: header length
// within the file, JSON well formed, every dtype known, shape * dtype size == byte length, and
// the data offsets covering the data section exactly, in order, without overlap or gaps.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(std::string path);  // throws me::Error naming the file (and tensor)
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;  // throws if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor as stored (F32, BF16 or F16; other dtypes are an error naming the tensor).
  Tensor read_raw(const std::string& name) const;
  Tensor read(const std::string& name) const;  // converted to f32

 private:
  std::string path_;
  const char* map_ = nullptr;
  size_t size_ = 0;
  size_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any float dtype, converted to `dtype`: kF32, kBF16 or kF16) in name order, the
// header padded with spaces to a multiple of 8 bytes as Hugging Face does; metadata always holds
// format: pt. Written to a temporary file and renamed, so a failed write leaves no partial file.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       DType dtype, std::map<std::string, std::string> metadata = {});

// The safetensors spelling of a dtype ("F32") and back; unknown names are an error.
std::string safetensors_dtype_name(DType dtype);
DType dtype_from_safetensors(const std::string& name, const std::string& where);

}  // namespace me
