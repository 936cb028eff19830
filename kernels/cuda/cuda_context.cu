// Per-device CUDA context: the legacy default stream and a cuBLAS handle with TF32 off, so f32
// GEMMs compute in full f32 and match the CPU reference.
#include <array>
#include <memory>
#include <mutex>

#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/device_sync.h"

namespace me::cuda {

Context& context(Device device) {
  static auto* contexts = new std::array<std::unique_ptr<Context>, 64>();
  static std::mutex mutex;
  ME_CHECK(device.is_cuda() && device.index >= 0 && device.index < 64, "CUDA context for {}",
           device.str());
  ME_CUDA_CHECK(cudaSetDevice(device.index));
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = (*contexts)[device.index];
  if (!slot) {
    auto ctx = std::make_unique<Context>();
    ctx->device = device.index;
    ME_CUBLAS_CHECK(cublasCreate(&ctx->cublas));
    ME_CUBLAS_CHECK(cublasSetStream(ctx->cublas, ctx->stream));
    ME_CUBLAS_CHECK(cublasSetMathMode(ctx->cublas, CUBLAS_DEFAULT_MATH));
    slot = std::move(ctx);
  }
  return *slot;
}

void synchronize_current_device() { ME_CUDA_CHECK(cudaDeviceSynchronize()); }

void require_f32(const char* op, const char* name, const Tensor& t) {
  if (t.dtype() != DType::kF32) {
    throw Error(fmt::format("{}: {} is {}; the CUDA kernels support f32 only so far", op, name,
                            t.describe()));
  }
}

}  // namespace me::cuda
