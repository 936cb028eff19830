// Statistics and control of the caching CUDA allocator (kernels/cuda/device_memory.cu), for the
// trainer's memory report and the allocator tests. Plain C++: no CUDA headers needed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace me::cuda {

struct DeviceMemoryStats {
  size_t allocated_bytes = 0;   // handed out to tensors now (requested sizes)
  size_t peak_bytes = 0;        // high-water mark of allocated_bytes
  size_t reserved_bytes = 0;    // obtained from cudaMalloc and not yet returned (in use + cached)
  size_t cached_bytes = 0;      // reserved but free, ready for reuse
  uint64_t device_mallocs = 0;  // cudaMalloc calls so far
  uint64_t device_frees = 0;    // cudaFree calls so far (only when the cache is emptied)
};

DeviceMemoryStats device_memory_stats(int device);
// Returns every cached block to the driver (cudaFree).
void empty_cache(int device);

}  // namespace me::cuda
