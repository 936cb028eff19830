// Memory per device. The CPU allocator hands out 64-byte aligned blocks; the CUDA allocator lives
// in kernels/cuda and is only linked when CUDA is built.
#pragma once

#include <atomic>
#include <cstddef>

#include "engine/core/device.h"

namespace me {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
  // Bytes currently handed out, and the high-water mark since start.
  size_t allocated_bytes() const { return allocated_.load(); }
  size_t peak_bytes() const { return peak_.load(); }
  // Bytes held from the system, including blocks a caching allocator keeps for reuse.
  virtual size_t reserved_bytes() const { return allocated_bytes(); }

 protected:
  // Implementations call these around every successful allocation and free.
  void count_allocation(size_t nbytes) {
    const size_t now = allocated_.fetch_add(nbytes) + nbytes;
    size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }
  void count_free(size_t nbytes) { allocated_.fetch_sub(nbytes); }

 private:
  std::atomic<size_t> allocated_{0};
  std::atomic<size_t> peak_{0};
};

Allocator& allocator_for(Device device);

// Copies nbytes between any two devices (host<->device, device<->device, host<->host).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);
void zero_bytes(void* dst, Device device, size_t nbytes);

namespace cuda {
// Implemented in kernels/cuda when built with CUDA; these throw me::Error otherwise.
Allocator& device_allocator(int index);
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);
void zero_bytes(void* dst, Device device, size_t nbytes);
int device_count();
}  // namespace cuda

}  // namespace me
