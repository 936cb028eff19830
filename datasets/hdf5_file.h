// A thin RAII layer over the HDF5 C API (H5Cpp is not available): files, root attributes and
// contiguous datasets read and written by row ranges. Every failure is a me::Error naming the file.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace me {

// The serial HDF5 library is not thread-safe: every call made through this layer holds this lock.
std::recursive_mutex& hdf5_mutex();

// Owns one hid_t and closes it with the matching H5*close function.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  H5Id& operator=(H5Id&& other) noexcept;
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// A dataset of any rank, read and written by ranges of its first dimension.
class H5Dataset {
 public:
  H5Dataset(H5Id id, std::string file, std::string name);
  const std::string& name() const { return name_; }
  std::vector<int64_t> dims() const;
  bool is_contiguous() const;
  // Where a contiguous dataset's data starts in the file; -1 when it has no file space.
  int64_t file_offset() const;
  // The stored element type: integer class, size in bytes and signedness.
  bool is_integer() const;
  size_t element_size() const;
  bool is_signed() const;
  // Rows [row_begin, row_begin + rows) converted to/from `mem_type` (e.g. H5T_NATIVE_INT32).
  void write_rows(hid_t mem_type, int64_t row_begin, int64_t rows, const void* data);
  void read_rows(hid_t mem_type, int64_t row_begin, int64_t rows, void* data) const;

 private:
  void transfer_rows(bool write, hid_t mem_type, int64_t row_begin, int64_t rows, void* data) const;
  H5Id id_;
  std::string file_;
  std::string name_;
};

class H5File {
 public:
  // Creates (truncating) `path` for writing.
  static H5File create(const std::string& path);
  // Opens read-only; a missing, non-HDF5 or truncated file is a me::Error naming `path`.
  static H5File open_read(const std::string& path);
  // Opens an existing file for writing. Data objects created from then on that are at least
  // align_threshold bytes start at a multiple of `alignment` (H5Pset_alignment).
  static H5File open_write(const std::string& path, int64_t align_threshold, int64_t alignment);

  const std::string& path() const { return path_; }
  bool has_dataset(const std::string& name) const;
  H5Dataset open_dataset(const std::string& name) const;
  // Contiguous, uncompressed, fixed-size dataset of `file_type` (e.g. H5T_STD_U16LE); a name with
  // slashes creates the groups on its path. reserve_only: its file space is allocated at once and
  // never written (no fill value), so the bytes already at that place in the file are its data.
  H5Dataset create_dataset(const std::string& name, hid_t file_type,
                           const std::vector<int64_t>& dims, bool reserve_only = false);

  void set_attr(const std::string& name, const std::string& value);
  void set_attr(const std::string& name, int64_t value);
  // Root attributes: nullopt when absent; a present attribute of the wrong kind is an error.
  std::optional<std::string> string_attr(const std::string& name) const;
  std::optional<int64_t> int_attr(const std::string& name) const;

  void flush();
  void close();

 private:
  H5File(H5Id id, std::string path) : id_(std::move(id)), path_(std::move(path)) {}
  H5Id id_;
  std::string path_;
};

}  // namespace me
