// CUDA cached attention: one block per query row (b, i, h). Its threads score the row's keys into
// shared memory (f32), reduce max and sum over the block, then each thread owns output channels
// and sums p_j v_j over the keys; a padding query writes zeros. Loads in f32, one rounding on
// store, as the other kernels.
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/decode_attention.h"
#include "kernels/cuda/storage.cuh"

namespace me::cuda {
namespace {

constexpr int kBlock = 128;

// In-place tree reduction of kBlock values in shared memory; every thread gets the result.
template <bool kMax>
__device__ float block_reduce(float value, float* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int width = kBlock / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) {
      const float other = scratch[threadIdx.x + width];
      scratch[threadIdx.x] =
          kMax ? fmaxf(scratch[threadIdx.x], other) : scratch[threadIdx.x] + other;
    }
    __syncthreads();
  }
  const float result = scratch[0];
  __syncthreads();
  return result;
}

// rows: (start, count) of each batch row, 2 B values.
template <typename T>
__global__ void decode_attention_kernel(const T* q, const T* k, const T* v, const int32_t* rows,
                                        T* out, int64_t tn, int64_t hq, int64_t d, int64_t s,
                                        int64_t g, float scale) {
  extern __shared__ float shared[];  // kBlock reduction slots, then s scores
  float* scratch = shared;
  float* scores = shared + kBlock;
  const int64_t row = blockIdx.x;
  const int64_t h = row % hq, i = (row / hq) % tn, b = row / (hq * tn);
  if (i >= rows[2 * b + 1]) {  // padding: the whole block leaves together
    for (int64_t x = threadIdx.x; x < d; x += kBlock) out[row * d + x] = store_as<T>(0.0f);
    return;
  }
  const int64_t keys = rows[2 * b] + i + 1;
  const int64_t kv_head = h / (hq / g);
  const T* qi = q + row * d;
  float local_max = -INFINITY;
  for (int64_t j = threadIdx.x; j < keys; j += kBlock) {
    const T* kj = k + ((b * s + j) * g + kv_head) * d;
    float acc = 0.0f;
    for (int64_t x = 0; x < d; ++x) acc += load(qi[x]) * load(kj[x]);
    scores[j] = acc * scale;
    local_max = fmaxf(local_max, scores[j]);
  }
  const float max_score = block_reduce<true>(local_max, scratch);
  float local_sum = 0.0f;
  for (int64_t j = threadIdx.x; j < keys; j += kBlock) {
    scores[j] = __expf(scores[j] - max_score);
    local_sum += scores[j];
  }
  const float total = block_reduce<false>(local_sum, scratch);  // syncs: scores are visible
  for (int64_t x = threadIdx.x; x < d; x += kBlock) {
    float acc = 0.0f;
    for (int64_t j = 0; j < keys; ++j)
      acc += scores[j] * load(v[((b * s + j) * g + kv_head) * d + x]);
    out[row * d + x] = store_as<T>(acc / total);
  }
}

}  // namespace

void decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      const int64_t* start, const int64_t* counts, Tensor& out, double scale) {
  const int64_t b = q.dim(0), tn = q.dim(1), hq = q.dim(2), d = q.dim(3);
  const int64_t s = k_cache.dim(1), g = k_cache.dim(2);
  const int64_t rows = b * tn * hq;
  if (rows == 0) return;
  const size_t shared_bytes = (kBlock + static_cast<size_t>(s)) * sizeof(float);
  int device_limit = 0;
  ME_CUDA_CHECK(cudaDeviceGetAttribute(&device_limit, cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                       q.device().index));
  if (shared_bytes > static_cast<size_t>(device_limit)) {
    throw Error(
        fmt::format("decode_attention: a cache of {} positions needs {} bytes of shared "
                    "memory per block; this GPU allows {}",
                    s, shared_bytes, device_limit));
  }
  std::vector<int32_t> host_rows(static_cast<size_t>(2 * b));
  for (int64_t bi = 0; bi < b; ++bi) {
    host_rows[2 * bi] = static_cast<int32_t>(start[bi]);
    host_rows[2 * bi + 1] = static_cast<int32_t>(counts[bi]);
  }
  const Tensor rows_t = Tensor::from_vector(host_rows, {b, 2}, q.device());
  const Context& ctx = context(q.device());
  with_storage(q.dtype(), "decode_attention", [&](auto tag) {
    using T = decltype(tag);
    auto kernel = decode_attention_kernel<T>;
    ME_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(shared_bytes)));
    kernel<<<static_cast<unsigned>(rows), kBlock, shared_bytes, ctx.stream>>>(
        data_as<T>(q), data_as<T>(k_cache), data_as<T>(v_cache), rows_t.data<int32_t>(),
        data_as<T>(out), tn, hq, d, s, g, static_cast<float>(scale));
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
