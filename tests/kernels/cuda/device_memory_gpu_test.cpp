// The caching CUDA allocator: steady-state reuse without cudaMalloc, size rounding shared across
// nearby sizes, counters (allocated, peak, reserved, cached), emptying the cache, and a clear
// out-of-memory error naming the sizes.
#include <doctest/doctest.h>

#include <vector>

#include "engine/core/allocator.h"
#include "kernels/cuda/device_memory.h"
#include "tests/support/gpu_parity.h"

namespace me {
namespace {

TEST_CASE("cuda allocator reuses blocks: no cudaMalloc after the first iteration") {
  const Device g = test::gpu_device();
  const std::vector<int64_t> sizes = {1, 1000, 129, 3 << 18, 5 << 18, 7};  // f32 elements
  uint64_t after_first = 0;
  for (int iteration = 0; iteration < 10; ++iteration) {
    std::vector<Tensor> live;
    for (int64_t n : sizes) live.push_back(Tensor::empty({n}, DType::kF32, g));
    live.push_back(Tensor::zeros({1001}, DType::kF32, g));
    if (iteration == 0) after_first = cuda::device_memory_stats(g.index).device_mallocs;
    CHECK_MESSAGE(cuda::device_memory_stats(g.index).device_mallocs == after_first, "iteration ",
                  iteration, " called cudaMalloc");
  }
  const cuda::DeviceMemoryStats s = cuda::device_memory_stats(g.index);
  CHECK(s.reserved_bytes >= s.allocated_bytes + s.cached_bytes);
  CHECK(s.peak_bytes >= (1 + 1000 + 129 + (3 << 18) + (5 << 18) + 7 + 1001) * 4);
  CHECK(allocator_for(g).reserved_bytes() == s.reserved_bytes);
}

TEST_CASE("cuda allocator rounds sizes so nearby requests share a block") {
  const Device g = test::gpu_device();
  { Tensor warm = Tensor::empty({1000}, DType::kF32, g); }  // 4000 B -> a 4096 B block
  const uint64_t before = cuda::device_memory_stats(g.index).device_mallocs;
  { Tensor near = Tensor::empty({1010}, DType::kF32, g); }  // 4040 B rounds to the same block
  CHECK(cuda::device_memory_stats(g.index).device_mallocs == before);
  { Tensor big = Tensor::empty({(3 << 18) + 5}, DType::kF32, g); }  // ~3 MiB -> a 4 MiB block
  const uint64_t after_big = cuda::device_memory_stats(g.index).device_mallocs;
  { Tensor big2 = Tensor::empty({(3 << 18) + 1000}, DType::kF32, g); }
  CHECK(cuda::device_memory_stats(g.index).device_mallocs == after_big);
}

TEST_CASE("cuda allocator empties its cache and reports out of memory clearly") {
  const Device g = test::gpu_device();
  { Tensor t = Tensor::empty({1 << 20}, DType::kF32, g); }
  CHECK(cuda::device_memory_stats(g.index).cached_bytes > 0);
  const uint64_t frees = cuda::device_memory_stats(g.index).device_frees;
  cuda::empty_cache(g.index);
  const cuda::DeviceMemoryStats s = cuda::device_memory_stats(g.index);
  CHECK(s.cached_bytes == 0);
  CHECK(s.device_frees > frees);
  CHECK(s.reserved_bytes >= s.allocated_bytes);
  // 2^50 bytes: no GPU has a petabyte.
  CHECK_THROWS_WITH_AS(
      Tensor::empty({int64_t{1} << 48}, DType::kF32, g),
      doctest::Contains("out of memory on cuda:0 allocating 1125899906842624 bytes"), Error);
  Tensor after = Tensor::zeros({16}, DType::kF32, g);  // the device still works afterwards
  CHECK(after.to_vector<float>()[15] == 0.0f);
}

}  // namespace
}  // namespace me
