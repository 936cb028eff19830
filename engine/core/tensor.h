// Tensor: a dense row-major view (offset + shape) into shared, device-owned storage.
// Views share storage, so flat parameter/gradient buffers hand out per-parameter tensors.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/core/error.h"

namespace me {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(Shape shape, DType dtype, Device device = Device::cpu());
  static Tensor zeros(Shape shape, DType dtype, Device device = Device::cpu());
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape,
                            Device device = Device::cpu());

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  int64_t offset() const { return offset_; }  // in elements, from the start of the storage
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  void* raw_data() const;
  template <typename T>
  T* data() const {
    ME_CHECK(dtype_of<T>() == dtype_, "tensor is {}, accessed as {}", dtype_name(dtype_),
             dtype_name(dtype_of<T>()));
    return static_cast<T*>(raw_data());
  }

  // A tensor of `shape` starting `offset` elements into this one's data (shares storage).
  Tensor view(int64_t offset, Shape shape) const;
  Tensor reshape(Shape shape) const;  // same numel; one dimension may be -1
  Tensor flatten_to_2d() const;       // (..., C) -> (N, C)

  Tensor to(Device device) const;  // copy to device (this tensor itself if already there)
  Tensor clone() const;
  Tensor cast(DType dtype) const;     // host tensors only
  void copy_from(const Tensor& src);  // same shape and dtype, any devices
  void zero_();

  template <typename T>
  std::vector<T> to_vector() const;
  std::string describe() const;  // "f32[2, 3] on cpu"

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;
  Shape shape_;
  DType dtype_ = DType::kF32;
};

}  // namespace me
