// Stand-ins for the CUDA runtime entry points in a build without CUDA: a recipe asking for a GPU
// gets a clear error instead of a link failure.
#ifndef ME_WITH_CUDA
#include "engine/core/allocator.h"
#include "engine/core/error.h"

namespace me::cuda {
namespace {
[[noreturn]] void no_cuda() {
  throw Error("this megatron-engine was built without CUDA (see `megatron-engine --version`)");
}
}  // namespace

Allocator& device_allocator(int) { no_cuda(); }
void copy_bytes(void*, Device, const void*, Device, size_t) { no_cuda(); }
void zero_bytes(void*, Device, size_t) { no_cuda(); }
int device_count() { return 0; }

}  // namespace me::cuda
#endif
