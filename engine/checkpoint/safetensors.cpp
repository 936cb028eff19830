// safetensors reading (mmap + header validation) and writing (temporary file, then rename).
#include "engine/checkpoint/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace me {
namespace {

// The format caps the header at 100 MB; a larger length means a damaged or foreign file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Byte sizes of every dtype the format defines (so an unknown one is caught at open).
int64_t format_dtype_size(const std::string& name) {
  static const std::map<std::string, int64_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
  const auto it = sizes.find(name);
  return it == sizes.end() ? 0 : it->second;
}

uint64_t read_le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

SafetensorsEntry parse_entry(const std::string& name, const nlohmann::json& j,
                             const std::string& where) {
  if (!j.is_object() || !j.contains("dtype") || !j.contains("shape") ||
      !j.contains("data_offsets")) {
    throw Error("tensor '" + name + "' needs dtype, shape and data_offsets in the header", where);
  }
  SafetensorsEntry e;
  const auto& offsets = j["data_offsets"];
  if (!j["dtype"].is_string() || !j["shape"].is_array() || !offsets.is_array() ||
      offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
    throw Error("tensor '" + name + "' has a malformed dtype, shape or data_offsets", where);
  }
  e.dtype = j["dtype"].get<std::string>();
  const int64_t elem = format_dtype_size(e.dtype);
  if (elem == 0) throw Error("tensor '" + name + "' has unknown dtype '" + e.dtype + "'", where);
  for (const auto& d : j["shape"]) {
    if (!d.is_number_unsigned()) {
      throw Error("tensor '" + name + "' has a negative or non-integer dimension", where);
    }
    e.shape.push_back(d.get<int64_t>());
  }
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  const uint64_t expected = static_cast<uint64_t>(shape_numel(e.shape) * elem);
  if (e.end < e.begin || e.end - e.begin != expected) {
    throw Error(fmt::format("tensor '{}' ({} {}) needs {} bytes but data_offsets [{}, {}] hold {}",
                            name, e.dtype, shape_str(e.shape), expected, e.begin, e.end,
                            e.end >= e.begin ? e.end - e.begin : 0),
                where);
  }
  return e;
}

}  // namespace

std::string safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kBF16:
      return "BF16";
    case DType::kF16:
      return "F16";
    case DType::kF64:
      return "F64";
    case DType::kI32:
      return "I32";
    case DType::kI64:
      return "I64";
    case DType::kU16:
      return "U16";
  }
  return "?";
}

DType dtype_from_safetensors(const std::string& name, const std::string& where) {
  if (name == "F32") return DType::kF32;
  if (name == "BF16") return DType::kBF16;
  if (name == "F16") return DType::kF16;
  throw Error("dtype '" + name + "' is not supported (supported: F32, BF16, F16)", where);
}

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  const int fd = ::open(path_.c_str(), O_RDONLY);
  if (fd < 0)
    throw Error("cannot open safetensors file: " + std::string(std::strerror(errno)), path_);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < 8) {
    ::close(fd);
    throw Error(fmt::format("truncated safetensors file ({} bytes; it must start with an 8-byte "
                            "header length)",
                            static_cast<int64_t>(st.st_size)),
                path_);
  }
  size_ = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw Error("cannot map safetensors file into memory", path_);
  map_ = static_cast<const char*>(map);
  try {
    const uint64_t header_len = read_le64(map_);
    if (header_len > kMaxHeaderBytes || header_len > size_ - 8) {
      throw Error(fmt::format("header length {} runs past the end of the file ({} bytes)",
                              header_len, size_),
                  path_);
    }
    data_start_ = 8 + header_len;
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(map_ + 8, map_ + data_start_);
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("header is not valid JSON: ") + e.what(), path_);
    }
    if (!header.is_object()) throw Error("header is not a JSON object", path_);
    for (const auto& [name, value] : header.items()) {
      if (name == "__metadata__") {
        if (!value.is_object()) throw Error("__metadata__ is not a JSON object", path_);
        for (const auto& [k, v] : value.items()) {
          if (!v.is_string()) throw Error("__metadata__ value '" + k + "' is not a string", path_);
          metadata_[k] = v.get<std::string>();
        }
        continue;
      }
      entries_[name] = parse_entry(name, value, path_);
    }
    std::vector<std::pair<std::string, const SafetensorsEntry*>> order;
    for (const auto& [name, e] : entries_) order.emplace_back(name, &e);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.second->begin != b.second->begin ? a.second->begin < b.second->begin
                                                : a.second->end < b.second->end;
    });
    uint64_t cursor = 0;
    for (const auto& [name, e] : order) {
      if (e->begin != cursor) {
        throw Error(
            fmt::format("tensor '{}' data_offsets [{}, {}] {} (expected to start at {})", name,
                        e->begin, e->end,
                        e->begin < cursor ? "overlap the previous tensor" : "leave a gap", cursor),
            path_);
      }
      cursor = e->end;
    }
    if (cursor != size_ - data_start_) {
      throw Error(fmt::format("tensors cover {} data bytes but the file holds {} after the header",
                              cursor, size_ - data_start_),
                  path_);
    }
  } catch (...) {
    ::munmap(const_cast<char*>(map_), size_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<char*>(map_), size_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) throw Error("no tensor '" + name + "' in this file", path_);
  return it->second;
}

Tensor SafetensorsFile::read_raw(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const DType dtype = dtype_from_safetensors(e.dtype, path_ + ": tensor '" + name + "'");
  Tensor t = Tensor::empty(e.shape, dtype);
  if (e.end > e.begin) std::memcpy(t.raw_data(), map_ + data_start_ + e.begin, e.end - e.begin);
  return t;
}

Tensor SafetensorsFile::read(const std::string& name) const {
  const Tensor raw = read_raw(name);
  return raw.dtype() == DType::kF32 ? raw : raw.cast(DType::kF32);
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       DType dtype, std::map<std::string, std::string> metadata) {
  if (dtype != DType::kF32 && dtype != DType::kBF16 && dtype != DType::kF16) {
    throw Error("safetensors output dtype must be f32, bf16 or f16", path);
  }
  metadata["format"] = "pt";
  nlohmann::json header;
  header["__metadata__"] = metadata;
  std::vector<Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    Tensor host = tensor.to(Device::cpu());
    if (host.dtype() != dtype) host = host.cast(dtype);
    header[name] = {{"dtype", safetensors_dtype_name(dtype)},
                    {"shape", host.shape()},
                    {"data_offsets", {offset, offset + host.nbytes()}}};
    offset += host.nbytes();
    data.push_back(std::move(host));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::string tmp = path + fmt::format(".tmp-{}", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
    out.write(len, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Tensor& t : data) {
      if (t.nbytes() > 0) {
        out.write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
      }
    }
    if (!out.flush()) {
      std::filesystem::remove(tmp);
      throw Error("cannot write safetensors file", path);
    }
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace me
