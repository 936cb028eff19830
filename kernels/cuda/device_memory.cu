// Device memory for CUDA tensors: a caching allocator per device (size-rounded free lists, no
// cudaMalloc/cudaFree in the steady state) and host/device copies. All work runs on the legacy
// default stream, so a freed block can be handed out again at once.
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/core/allocator.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_memory.h"

namespace me::cuda {
namespace {

constexpr size_t kSmallLimit = size_t{1} << 20;  // below: 512-byte granularity
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t{2} << 20;  // at and above 1 MiB: 2 MiB granularity

size_t round_size(size_t nbytes) {
  const size_t unit = nbytes < kSmallLimit ? kSmallRound : kLargeRound;
  return (nbytes + unit - 1) / unit * unit;
}

class CachingDeviceAllocator final : public Allocator {
 public:
  explicit CachingDeviceAllocator(int index) : index_(index) {}

  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    const size_t rounded = round_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* p = take_cached(rounded);
    if (!p) p = device_malloc(nbytes, rounded);
    count_allocation(nbytes);
    return p;
  }

  void deallocate(void* ptr, size_t nbytes) override {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t rounded = round_size(nbytes);
    free_[rounded].push_back(ptr);
    cached_ += rounded;
    count_free(nbytes);
  }

  size_t reserved_bytes() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return reserved_;
  }

  DeviceMemoryStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {allocated_bytes(), peak_bytes(), reserved_, cached_, mallocs_, frees_};
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cache();
  }

 private:
  void* take_cached(size_t rounded) {
    auto it = free_.find(rounded);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= rounded;
    return p;
  }

  // cudaMalloc; on out-of-memory, return the cache to the driver and try once more.
  void* device_malloc(size_t nbytes, size_t rounded) {
    ME_CUDA_CHECK(cudaSetDevice(index_));
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, rounded);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // so the next launch check does not report this failure
      release_cache();
      status = cudaMalloc(&p, rounded);
    }
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      throw Error(fmt::format(
          "CUDA out of memory on cuda:{} allocating {} bytes ({} rounded): {} bytes allocated to "
          "tensors, {} bytes reserved (the cache was emptied before retrying)",
          index_, nbytes, rounded, allocated_bytes(), reserved_));
    }
    ME_CUDA_CHECK(status);
    ++mallocs_;
    reserved_ += rounded;
    return p;
  }

  void release_cache() {
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) {
        cudaFree(p);  // errors here (driver shutting down) leave nothing to recover
        ++frees_;
        reserved_ -= size;
      }
      blocks.clear();
    }
    cached_ = 0;
  }

  int index_;
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // rounded size -> free blocks
  size_t reserved_ = 0;
  size_t cached_ = 0;
  uint64_t mallocs_ = 0;
  uint64_t frees_ = 0;
};

// Never destroyed: tensors freed during static destruction still find their allocator.
CachingDeviceAllocator& caching_allocator(int index) {
  static auto* allocators = new std::array<std::unique_ptr<CachingDeviceAllocator>, 64>();
  static std::mutex mutex;
  ME_CHECK(index >= 0 && index < 64, "CUDA device index {}", index);
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = (*allocators)[index];
  if (!slot) slot = std::make_unique<CachingDeviceAllocator>(index);
  return *slot;
}

cudaMemcpyKind copy_kind(Device dst, Device src) {
  if (dst.is_cuda() && src.is_cuda()) return cudaMemcpyDeviceToDevice;
  return dst.is_cuda() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
}

}  // namespace

Allocator& device_allocator(int index) { return caching_allocator(index); }

DeviceMemoryStats device_memory_stats(int device) { return caching_allocator(device).stats(); }

void empty_cache(int device) { caching_allocator(device).empty_cache(); }

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
