// Tensor storage, views, copies and host conversions.
#include "engine/core/tensor.h"

#include <fmt/format.h>

#include "engine/core/allocator.h"

namespace me {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kF64:
      return "f64";
    case DType::kBF16:
      return "bf16";
    case DType::kF16:
      return "f16";
    case DType::kI32:
      return "i32";
    case DType::kI64:
      return "i64";
    case DType::kU16:
      return "u16";
  }
  return "?";
}

DType dtype_from_name(std::string_view name) {
  for (DType t : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16, DType::kI32, DType::kI64,
                  DType::kU16}) {
    if (dtype_name(t) == name) return t;
  }
  throw Error(
      fmt::format("unknown dtype '{}' (expected f32, f64, bf16, f16, i32, i64, u16)", name));
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = allocator_for(device).allocate(nbytes);
}

Storage::~Storage() { allocator_for(device_).deallocate(data_, nbytes_); }

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  for (int64_t d : shape) ME_CHECK(d >= 0, "negative dimension in {}", shape_str(shape));
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), device);
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t = empty(std::move(shape), dtype, device);
  t.zero_();
  return t;
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, Shape shape, Device device) {
  ME_CHECK(shape_numel(shape) == static_cast<int64_t>(values.size()), "{} values for shape {}",
           values.size(), shape_str(shape));
  Tensor t = empty(std::move(shape), dtype_of<T>(), device);
  copy_bytes(t.raw_data(), device, values.data(), Device::cpu(), t.nbytes());
  return t;
}

int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int j = i < 0 ? i + n : i;
  ME_CHECK(j >= 0 && j < n, "dim {} of a {}-d tensor", i, n);
  return shape_[j];
}

void* Tensor::raw_data() const {
  ME_CHECK(defined(), "access to an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_ * dtype_size(dtype_);
}

Tensor Tensor::view(int64_t offset, Shape shape) const {
  ME_CHECK(defined(), "view of an undefined tensor");
  const int64_t n = shape_numel(shape);
  ME_CHECK(offset >= 0 && offset + n <= numel(), "view [{}, {}) out of a tensor of {} elements",
           offset, offset + n, numel());
  Tensor t = *this;
  t.offset_ = offset_ + offset;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      ME_CHECK(infer < 0, "reshape to {} has two -1", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) shape[infer] = known == 0 ? 0 : numel() / known;
  ME_CHECK(shape_numel(shape) == numel(), "reshape {} to {}", shape_str(shape_), shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::flatten_to_2d() const {
  ME_CHECK(ndim() >= 1, "flatten of a scalar");
  return reshape({-1, dim(-1)});
}

Tensor Tensor::to(Device device) const {
  if (this->device() == device) return *this;
  Tensor t = empty(shape_, dtype_, device);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  t.copy_from(*this);
  return t;
}

namespace {
template <typename To, typename From>
void convert(const From* src, To* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_arithmetic_v<To> && std::is_arithmetic_v<From>) {
      dst[i] = static_cast<To>(src[i]);
    } else {
      dst[i] = To(static_cast<float>(src[i]));
    }
  }
}

template <typename To>
void convert_from(const Tensor& src, To* dst) {
  const int64_t n = src.numel();
  switch (src.dtype()) {
    case DType::kF32:
      convert(src.data<float>(), dst, n);
      break;
    case DType::kF64:
      convert(src.data<double>(), dst, n);
      break;
    case DType::kBF16:
      convert(src.data<BFloat16>(), dst, n);
      break;
    case DType::kF16:
      convert(src.data<Float16>(), dst, n);
      break;
    case DType::kI32:
      convert(src.data<int32_t>(), dst, n);
      break;
    case DType::kI64:
      convert(src.data<int64_t>(), dst, n);
      break;
    case DType::kU16:
      convert(src.data<uint16_t>(), dst, n);
      break;
  }
}
}  // namespace

Tensor Tensor::cast(DType dtype) const {
  ME_CHECK(device().is_cpu(), "cast of a {} tensor (host only)", device().str());
  if (dtype == dtype_) return clone();
  Tensor t = empty(shape_, dtype, device());
  switch (dtype) {
    case DType::kF32:
      convert_from(*this, t.data<float>());
      break;
    case DType::kF64:
      convert_from(*this, t.data<double>());
      break;
    case DType::kBF16:
      convert_from(*this, t.data<BFloat16>());
      break;
    case DType::kF16:
      convert_from(*this, t.data<Float16>());
      break;
    case DType::kI32:
      convert_from(*this, t.data<int32_t>());
      break;
    case DType::kI64:
      convert_from(*this, t.data<int64_t>());
      break;
    case DType::kU16:
      convert_from(*this, t.data<uint16_t>());
      break;
  }
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  ME_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_, "copy {} into {}", src.describe(),
           describe());
  copy_bytes(raw_data(), device(), src.raw_data(), src.device(), nbytes());
}

void Tensor::zero_() { zero_bytes(raw_data(), device(), nbytes()); }

template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(static_cast<size_t>(numel()));
  ME_CHECK(dtype_of<T>() == dtype_, "to_vector of a {} tensor as {}", dtype_name(dtype_),
           dtype_name(dtype_of<T>()));
  copy_bytes(out.data(), Device::cpu(), raw_data(), device(), nbytes());
  return out;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return fmt::format("{}{} on {}", dtype_name(dtype_), shape_str(shape_), device().str());
}

#define ME_INSTANTIATE(T)                                                       \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, Shape, Device); \
  template std::vector<T> Tensor::to_vector<T>() const;
ME_INSTANTIATE(float)
ME_INSTANTIATE(double)
ME_INSTANTIATE(BFloat16)
ME_INSTANTIATE(Float16)
ME_INSTANTIATE(int32_t)
ME_INSTANTIATE(int64_t)
ME_INSTANTIATE(uint16_t)
#undef ME_INSTANTIATE

}  // namespace me
