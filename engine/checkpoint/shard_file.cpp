// Shard files through the HDF5 C API: datasets with int64 array attributes for their placement,
// listed with H5Lvisit and read as unions of contiguous hyperslabs.
#include "engine/checkpoint/shard_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <mutex>

#include "engine/core/error.h"

namespace me {
namespace {

// Holds the HDF5 lock and silences HDF5's own error printing for one call; failures are
// reported as me::Error instead.
class H5Guard {
 public:
  H5Guard() : lock_(hdf5_mutex()) {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5Guard() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  H5Guard(const H5Guard&) = delete;
  H5Guard& operator=(const H5Guard&) = delete;

 private:
  std::lock_guard<std::recursive_mutex> lock_;
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

hid_t checked(hid_t id, const std::string& file, const std::string& what) {
  if (id < 0) throw Error(fmt::format("HDF5 failed to {}", what), file);
  return id;
}

void check(herr_t status, const std::string& file, const std::string& what) {
  if (status < 0) throw Error(fmt::format("HDF5 failed to {}", what), file);
}

H5Id simple_space(const std::vector<int64_t>& dims, const std::string& file) {
  const std::vector<hsize_t> h(dims.begin(), dims.end());
  return H5Id(checked(H5Screate_simple(static_cast<int>(h.size()), h.data(), nullptr), file,
                      "create a dataspace"),
              H5Sclose);
}

void write_attr(hid_t dataset, const char* name, const std::vector<int64_t>& values,
                const std::string& file) {
  const H5Id space = simple_space({static_cast<int64_t>(values.size())}, file);
  const H5Id attr(
      checked(H5Acreate2(dataset, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), file,
              fmt::format("create attribute {}", name)),
      H5Aclose);
  check(H5Awrite(attr.get(), H5T_NATIVE_INT64, values.data()), file,
        fmt::format("write attribute {}", name));
}

// An int64 array attribute of a dataset; absent is a me::Error.
std::vector<int64_t> read_attr(hid_t dataset, const char* name, const std::string& file,
                               const std::string& dataset_name) {
  if (H5Aexists(dataset, name) <= 0) {
    throw Error(
        fmt::format("dataset '{}' has no '{}' attribute (not a format-version-2 or later shard)",
                    dataset_name, name),
        file);
  }
  const H5Id attr(checked(H5Aopen(dataset, name, H5P_DEFAULT), file, "open an attribute"),
                  H5Aclose);
  const H5Id space(checked(H5Aget_space(attr.get()), file, "read an attribute"), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<int64_t> values(static_cast<size_t>(std::max<hssize_t>(n, 0)));
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, values.data()), file,
        fmt::format("read attribute {} of {}", name, dataset_name));
  return values;
}

herr_t collect_dataset(hid_t group, const char* name, const H5L_info_t*, void* out) {
  const hid_t object = H5Oopen(group, name, H5P_DEFAULT);
  if (object < 0) return -1;
  if (H5Iget_type(object) == H5I_DATASET) {
    static_cast<std::vector<std::string>*>(out)->push_back(name);
  }
  H5Oclose(object);
  return 0;
}

// `partition` = [dim, block count, rank, size] and, for unequal blocks, their full lengths: a
// dimension of the global shape, which the blocks (equal ones when none are listed) fill exactly,
// each splitting into `size` parts.
bool valid_partition(const std::vector<int64_t>& part, const std::vector<int64_t>& blocks,
                     const Shape& global_shape) {
  const auto rank = static_cast<int64_t>(global_shape.size());
  if (part.size() != 4 || part[0] < -1 || part[0] >= rank || part[1] < 1 || part[3] < 1 ||
      part[2] < 0 || part[2] >= part[3]) {
    return false;
  }
  if (part[0] < 0) return blocks.empty();
  const int64_t length = global_shape[static_cast<size_t>(part[0])];
  if (blocks.empty()) return length % (part[1] * part[3]) == 0;
  if (static_cast<int64_t>(blocks.size()) != part[1]) return false;
  int64_t total = 0;
  for (int64_t block : blocks) {
    if (block < 0 || block % part[3] != 0) return false;
    total += block;
  }
  return total == length;
}

H5Id open_file(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error("checkpoint shard is missing", path);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw Error("checkpoint shard is not an HDF5 file, or a truncated one", path);
  return H5Id(id, H5Fclose);
}

}  // namespace

ShardWriter::ShardWriter(const std::string& path) : path_(path) {
  H5Guard guard;
  file_ = H5Id(checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), path,
                       "create the file"),
               H5Fclose);
  create_ = H5Id(checked(H5Pcreate(H5P_DATASET_CREATE), path, "create a property list"), H5Pclose);
  check(H5Pset_layout(create_.get(), H5D_CONTIGUOUS), path, "set the layout");
  check(H5Pset_obj_track_times(create_.get(), 0), path, "drop times");
  links_ = H5Id(checked(H5Pcreate(H5P_LINK_CREATE), path, "create a property list"), H5Pclose);
  check(H5Pset_create_intermediate_group(links_.get(), 1), path, "allow groups");
}

void ShardWriter::write(const StoredTensor& t) {
  ME_CHECK(t.host.dtype() == DType::kF32 && t.host.device().is_cpu(), "{} is not host f32", t.name);
  ME_CHECK(t.host.numel() == t.placement.size(), "{} holds {} elements, its placement {}", t.name,
           t.host.numel(), t.placement.size());
  H5Guard guard;
  const H5Id space = simple_space(t.host.shape(), path_);
  const H5Id dataset(checked(H5Dcreate2(file_.get(), t.name.c_str(), H5T_IEEE_F32LE, space.get(),
                                        links_.get(), create_.get(), H5P_DEFAULT),
                             path_, "create dataset " + t.name),
                     H5Dclose);
  if (t.host.numel() > 0) {
    check(H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                   t.host.data<float>()),
          path_, "write " + t.name);
  }
  const Partition& p = t.placement.partition;
  const auto count = static_cast<int64_t>(std::max<size_t>(p.blocks.size(), 1));
  write_attr(dataset.get(), "global_shape", t.placement.global_shape, path_);
  write_attr(dataset.get(), "partition", {p.dim, count, p.rank, p.size}, path_);
  write_attr(dataset.get(), "elements", {t.placement.begin, t.placement.end}, path_);
  // Equal blocks follow from their count and the global shape; unequal ones are listed.
  if (std::adjacent_find(p.blocks.begin(), p.blocks.end(), std::not_equal_to<>()) !=
      p.blocks.end()) {
    write_attr(dataset.get(), "partition_blocks", p.blocks, path_);
  }
}

void ShardWriter::close() {
  {
    H5Guard guard;
    check(H5Fflush(file_.get(), H5F_SCOPE_LOCAL), path_, "flush");
    create_.reset();
    links_.reset();
    file_.reset();
  }
  const int fd = ::open(path_.c_str(), O_RDONLY);
  if (fd < 0) throw Error("cannot open the shard to sync it", path_);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error("fsync of the shard failed", path_);
}

void write_shard_file(const std::string& path, const std::vector<StoredTensor>& tensors) {
  ShardWriter writer(path);
  for (const StoredTensor& t : tensors) writer.write(t);
  writer.close();
}

std::vector<ShardEntry> list_shard_file(const std::string& path) {
  H5Guard guard;
  const H5Id file = open_file(path);
  std::vector<std::string> names;
  check(H5Lvisit(file.get(), H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &names), path,
        "list the datasets");
  std::vector<ShardEntry> entries;
  for (const std::string& name : names) {
    const H5Id dataset(
        checked(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT), path, "open " + name), H5Dclose);
    const H5Id space(checked(H5Dget_space(dataset.get()), path, "read a dataspace"), H5Sclose);
    std::vector<hsize_t> dims(static_cast<size_t>(H5Sget_simple_extent_ndims(space.get())));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    ShardEntry e{path, name, Shape(dims.begin(), dims.end()), {}};
    e.placement.global_shape = read_attr(dataset.get(), "global_shape", path, name);
    const std::vector<int64_t> part = read_attr(dataset.get(), "partition", path, name);
    const std::vector<int64_t> elements = read_attr(dataset.get(), "elements", path, name);
    const std::vector<int64_t> blocks =
        H5Aexists(dataset.get(), "partition_blocks") > 0
            ? read_attr(dataset.get(), "partition_blocks", path, name)
            : std::vector<int64_t>{};
    if (!valid_partition(part, blocks, e.placement.global_shape) || elements.size() != 2) {
      throw Error(fmt::format("dataset '{}' has a malformed partition or elements attribute", name),
                  path);
    }
    e.placement.partition = Partition{static_cast<int>(part[0]), part[2], part[3], blocks};
    if (blocks.empty() && part[1] > 1) {
      e.placement.partition.blocks =
          equal_blocks(part[1], e.placement.global_shape[static_cast<size_t>(part[0])]);
    }
    e.placement.begin = elements[0];
    e.placement.end = elements[1];
    const int64_t shard_numel = shape_numel(e.placement.local_shape());
    if (e.placement.begin < 0 || e.placement.end > shard_numel ||
        e.placement.size() != shape_numel(e.dims)) {
      throw Error(
          fmt::format("dataset '{}' of shape {} does not hold elements [{}, {}) of a "
                      "shard of {} elements",
                      name, shape_str(e.dims), e.placement.begin, e.placement.end, shard_numel),
          path);
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

ShardReader::ShardReader(const std::string& path) : path_(path) {
  H5Guard guard;
  file_ = open_file(path);
}

void ShardReader::read(const std::string& dataset, const Shape& dims,
                       const std::vector<Copy>& copies, float* target) const {
  if (copies.empty()) return;
  H5Guard guard;
  const H5Id d(
      checked(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT), path_, "open " + dataset),
      H5Dclose);
  const H5Id file_space(checked(H5Dget_space(d.get()), path_, "read a dataspace"), H5Sclose);
  for (const Copy& c : copies) {
    const std::vector<Box> boxes = flat_range_boxes(dims, c.from, c.length);
    for (size_t b = 0; b < boxes.size(); ++b) {
      const std::vector<hsize_t> start(boxes[b].start.begin(), boxes[b].start.end());
      const std::vector<hsize_t> size(boxes[b].count.begin(), boxes[b].count.end());
      check(H5Sselect_hyperslab(file_space.get(), b == 0 ? H5S_SELECT_SET : H5S_SELECT_OR,
                                start.data(), nullptr, size.data(), nullptr),
            path_, "select a hyperslab of " + dataset);
    }
    // The boxes are disjoint and in row-major order, the order HDF5 reads a selection in.
    const H5Id mem_space = simple_space({c.length}, path_);
    check(H5Dread(d.get(), H5T_NATIVE_FLOAT, mem_space.get(), file_space.get(), H5P_DEFAULT,
                  target + c.to),
          path_, "read " + dataset);
  }
}

}  // namespace me
