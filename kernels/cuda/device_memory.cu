// Device memory for CUDA tensors: a per-device allocator and host/device copies.
// Allocation goes straight to cudaMalloc for now; the caching allocator is the CUDA issue's.
#include <array>
#include <memory>
#include <mutex>

#include "engine/core/allocator.h"
#include "kernels/cuda/cuda_check.h"

namespace me::cuda {
namespace {

class DeviceAllocator final : public Allocator {
 public:
  explicit DeviceAllocator(int index) : index_(index) {}
  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    ME_CUDA_CHECK(cudaSetDevice(index_));
    void* p = nullptr;
    ME_CUDA_CHECK(cudaMalloc(&p, nbytes));
    count_allocation(nbytes);
    return p;
  }
  void deallocate(void* ptr, size_t nbytes) override {
    if (!ptr) return;
    cudaFree(ptr);  // destructors never throw
    count_free(nbytes);
  }

 private:
  int index_;
};

cudaMemcpyKind copy_kind(Device dst, Device src) {
  if (dst.is_cuda() && src.is_cuda()) return cudaMemcpyDeviceToDevice;
  return dst.is_cuda() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
}

}  // namespace

Allocator& device_allocator(int index) {
  static std::array<std::unique_ptr<DeviceAllocator>, 64> allocators;
  static std::mutex mutex;
  ME_CHECK(index >= 0 && index < 64, "CUDA device index {}", index);
  std::lock_guard<std::mutex> lock(mutex);
  if (!allocators[index]) allocators[index] = std::make_unique<DeviceAllocator>(index);
  return *allocators[index];
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  ME_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, copy_kind(dst_device, src_device)));
}

void zero_bytes(void* dst, Device device, size_t nbytes) {
  ME_CUDA_CHECK(cudaSetDevice(device.index));
  ME_CUDA_CHECK(cudaMemset(dst, 0, nbytes));
}

int device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

}  // namespace me::cuda
