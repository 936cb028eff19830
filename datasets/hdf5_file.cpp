// HDF5 RAII helpers: HDF5's own error-stack printing is switched off around every call, because
// each failure is reported once, as a me::Error that names the file and the object.
#include "datasets/hdf5_file.h"

#include <fmt/format.h>

#include <filesystem>

#include "engine/core/error.h"

namespace me {
namespace {

// Holds the HDF5 lock and silences HDF5's automatic error printing for one call.
class H5Call {
 public:
  H5Call() : lock_(hdf5_mutex()) {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5Call() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  H5Call(const H5Call&) = delete;
  H5Call& operator=(const H5Call&) = delete;

 private:
  std::lock_guard<std::recursive_mutex> lock_;
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

void check(herr_t status, const std::string& file, const std::string& what) {
  if (status < 0) throw Error(fmt::format("HDF5 failed to {}", what), file);
}

hid_t check_id(hid_t id, const std::string& file, const std::string& what) {
  if (id < 0) throw Error(fmt::format("HDF5 failed to {}", what), file);
  return id;
}

}  // namespace

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

H5Id& H5Id::operator=(H5Id&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

void H5Id::reset() {
  if (id_ >= 0) {
    H5Call call;
    closer_(id_);
  }
  id_ = -1;
}

H5Dataset::H5Dataset(H5Id id, std::string file, std::string name)
    : id_(std::move(id)), file_(std::move(file)), name_(std::move(name)) {}

std::vector<int64_t> H5Dataset::dims() const {
  H5Call call;
  H5Id space(check_id(H5Dget_space(id_.get()), file_, "read the shape of " + name_), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw Error(fmt::format("cannot read the rank of dataset {}", name_), file_);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

bool H5Dataset::is_contiguous() const {
  H5Call call;
  H5Id plist(check_id(H5Dget_create_plist(id_.get()), file_, "read the layout of " + name_),
             H5Pclose);
  return H5Pget_layout(plist.get()) == H5D_CONTIGUOUS;
}

int64_t H5Dataset::file_offset() const {
  H5Call call;
  const haddr_t offset = H5Dget_offset(id_.get());
  return offset == HADDR_UNDEF ? -1 : static_cast<int64_t>(offset);
}

bool H5Dataset::is_integer() const {
  H5Call call;
  H5Id type(check_id(H5Dget_type(id_.get()), file_, "read the type of " + name_), H5Tclose);
  return H5Tget_class(type.get()) == H5T_INTEGER;
}

size_t H5Dataset::element_size() const {
  H5Call call;
  H5Id type(check_id(H5Dget_type(id_.get()), file_, "read the type of " + name_), H5Tclose);
  return H5Tget_size(type.get());
}

bool H5Dataset::is_signed() const {
  H5Call call;
  H5Id type(check_id(H5Dget_type(id_.get()), file_, "read the type of " + name_), H5Tclose);
  return H5Tget_sign(type.get()) == H5T_SGN_2;
}

void H5Dataset::write_rows(hid_t mem_type, int64_t row_begin, int64_t rows, const void* data) {
  transfer_rows(true, mem_type, row_begin, rows, const_cast<void*>(data));
}

void H5Dataset::read_rows(hid_t mem_type, int64_t row_begin, int64_t rows, void* data) const {
  transfer_rows(false, mem_type, row_begin, rows, data);
}

void H5Dataset::transfer_rows(bool write, hid_t mem_type, int64_t row_begin, int64_t rows,
                              void* data) const {
  if (rows == 0) return;
  const std::vector<int64_t> shape = dims();
  ME_CHECK(!shape.empty() && row_begin >= 0 && rows > 0 && row_begin + rows <= shape[0],
           "rows [{}, {}) outside dataset {} of {} rows", row_begin, row_begin + rows, name_,
           shape.empty() ? 0 : shape[0]);
  H5Call call;
  std::vector<hsize_t> start(shape.size(), 0), count(shape.begin(), shape.end());
  start[0] = static_cast<hsize_t>(row_begin);
  count[0] = static_cast<hsize_t>(rows);
  const std::string what = fmt::format("{} rows [{}, {}) of {}", write ? "write" : "read",
                                       row_begin, row_begin + rows, name_);
  H5Id file_space(check_id(H5Dget_space(id_.get()), file_, what), H5Sclose);
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                            nullptr),
        file_, what);
  H5Id mem_space(check_id(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                          file_, what),
                 H5Sclose);
  const herr_t status =
      write ? H5Dwrite(id_.get(), mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data)
            : H5Dread(id_.get(), mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data);
  check(status, file_, what);
}

H5File H5File::create(const std::string& path) {
  H5Call call;
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  return H5File(H5Id(check_id(id, path, "create the file"), H5Fclose), path);
}

H5File H5File::open_read(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error("no such file", path);
  H5Call call;
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw Error("not an HDF5 file, or a truncated one", path);
  return H5File(H5Id(id, H5Fclose), path);
}

H5File H5File::open_write(const std::string& path, int64_t align_threshold, int64_t alignment) {
  H5Call call;
  const std::string what = "open the file for writing";
  H5Id access(check_id(H5Pcreate(H5P_FILE_ACCESS), path, what), H5Pclose);
  check(H5Pset_alignment(access.get(), static_cast<hsize_t>(align_threshold),
                         static_cast<hsize_t>(alignment)),
        path, what);
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, access.get());
  return H5File(H5Id(check_id(id, path, what), H5Fclose), path);
}

bool H5File::has_dataset(const std::string& name) const {
  H5Call call;
  if (H5Lexists(id_.get(), name.c_str(), H5P_DEFAULT) <= 0) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name(id_.get(), name.c_str(), &info, H5P_DEFAULT) < 0) return false;
  return info.type == H5O_TYPE_DATASET;
}

H5Dataset H5File::open_dataset(const std::string& name) const {
  if (!has_dataset(name)) throw Error(fmt::format("missing dataset {}", name), path_);
  H5Call call;
  hid_t id = H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT);
  return H5Dataset(H5Id(check_id(id, path_, "open " + name), H5Dclose), path_, name);
}

H5Dataset H5File::create_dataset(const std::string& name, hid_t file_type,
                                 const std::vector<int64_t>& dims, bool reserve_only) {
  H5Call call;
  const std::string what = "create dataset " + name;
  std::vector<hsize_t> hdims(dims.begin(), dims.end());
  H5Id space(check_id(H5Screate_simple(static_cast<int>(hdims.size()), hdims.data(), nullptr),
                      path_, what),
             H5Sclose);
  H5Id plist(check_id(H5Pcreate(H5P_DATASET_CREATE), path_, what), H5Pclose);
  check(H5Pset_layout(plist.get(), H5D_CONTIGUOUS), path_, what);
  check(H5Pset_obj_track_times(plist.get(), 0), path_, what);  // same input -> same file bytes
  if (reserve_only) {
    check(H5Pset_alloc_time(plist.get(), H5D_ALLOC_TIME_EARLY), path_, what);
    check(H5Pset_fill_time(plist.get(), H5D_FILL_TIME_NEVER), path_, what);
  }
  H5Id links(check_id(H5Pcreate(H5P_LINK_CREATE), path_, what), H5Pclose);
  check(H5Pset_create_intermediate_group(links.get(), 1), path_, what);  // "a/b/c" makes a and b
  hid_t id = H5Dcreate2(id_.get(), name.c_str(), file_type, space.get(), links.get(), plist.get(),
                        H5P_DEFAULT);
  return H5Dataset(H5Id(check_id(id, path_, what), H5Dclose), path_, name);
}

void H5File::set_attr(const std::string& name, const std::string& value) {
  H5Call call;
  const std::string what = "write attribute " + name;
  H5Id type(check_id(H5Tcopy(H5T_C_S1), path_, what), H5Tclose);
  check(H5Tset_size(type.get(), std::max<size_t>(value.size(), 1)), path_, what);
  check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), path_, what);
  H5Id space(check_id(H5Screate(H5S_SCALAR), path_, what), H5Sclose);
  H5Id attr(check_id(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                H5P_DEFAULT),
                     path_, what),
            H5Aclose);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr.get(), type.get(), padded.data()), path_, what);
}

void H5File::set_attr(const std::string& name, int64_t value) {
  H5Call call;
  const std::string what = "write attribute " + name;
  H5Id space(check_id(H5Screate(H5S_SCALAR), path_, what), H5Sclose);
  H5Id attr(check_id(H5Acreate2(id_.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT,
                                H5P_DEFAULT),
                     path_, what),
            H5Aclose);
  check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), path_, what);
}

std::optional<std::string> H5File::string_attr(const std::string& name) const {
  H5Call call;
  if (H5Aexists(id_.get(), name.c_str()) <= 0) return std::nullopt;
  const std::string what = "read attribute " + name;
  H5Id attr(check_id(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), path_, what), H5Aclose);
  H5Id type(check_id(H5Aget_type(attr.get()), path_, what), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) {
    throw Error(fmt::format("attribute '{}' is not a string", name), path_);
  }
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Id mem(check_id(H5Tcopy(H5T_C_S1), path_, what), H5Tclose);
    check(H5Tset_size(mem.get(), H5T_VARIABLE), path_, what);
    char* text = nullptr;
    check(H5Aread(attr.get(), mem.get(), &text), path_, what);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string buffer(H5Tget_size(type.get()), '\0');
  check(H5Aread(attr.get(), type.get(), buffer.data()), path_, what);
  return buffer.substr(0, buffer.find('\0'));
}

std::optional<int64_t> H5File::int_attr(const std::string& name) const {
  H5Call call;
  if (H5Aexists(id_.get(), name.c_str()) <= 0) return std::nullopt;
  const std::string what = "read attribute " + name;
  H5Id attr(check_id(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), path_, what), H5Aclose);
  H5Id type(check_id(H5Aget_type(attr.get()), path_, what), H5Tclose);
  H5Id space(check_id(H5Aget_space(attr.get()), path_, what), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Sget_simple_extent_npoints(space.get()) != 1) {
    throw Error(fmt::format("attribute '{}' is not an integer", name), path_);
  }
  int64_t value = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), path_, what);
  return value;
}

void H5File::flush() {
  H5Call call;
  check(H5Fflush(id_.get(), H5F_SCOPE_LOCAL), path_, "flush the file");
}

void H5File::close() { id_.reset(); }

}  // namespace me
