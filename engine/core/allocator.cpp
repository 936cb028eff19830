// The host allocator (aligned, counted) and device-generic copy/zero that route to CUDA when
// needed.
#include "engine/core/allocator.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "engine/core/error.h"

namespace me {
namespace {

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    const size_t rounded = (nbytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) throw Error(fmt::format("out of host memory allocating {} bytes", nbytes));
    count_allocation(nbytes);
    return p;
  }
  void deallocate(void* ptr, size_t nbytes) override {
    if (!ptr) return;
    std::free(ptr);
    count_free(nbytes);
  }
};

}  // namespace

Allocator& allocator_for(Device device) {
  static CpuAllocator cpu_allocator;
  if (device.is_cpu()) return cpu_allocator;
  return cuda::device_allocator(device.index);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, nbytes);
  } else {
    cuda::copy_bytes(dst, dst_device, src, src_device, nbytes);
  }
}

void zero_bytes(void* dst, Device device, size_t nbytes) {
  if (nbytes == 0) return;
  if (device.is_cpu()) {
    std::memset(dst, 0, nbytes);
  } else {
    cuda::zero_bytes(dst, device, nbytes);
  }
}

bool cuda_available() { return cuda::device_count() > 0; }

}  // namespace me
