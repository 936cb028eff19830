// CUDA embedding: the gather runs one thread per output element; the scatter-add groups tokens by
// id on the host (a stable counting sort of the ids the entry point already copied for its range
// check), then one thread per (id, column) adds that id's tokens in token order, starting from
// the current dtable value: the CPU loop's order, so the result is bitwise deterministic.
#include <vector>

#include "kernels/cuda/embedding.h"
#include "kernels/cuda/storage.cuh"
#include "kernels/embedding.h"

namespace me::cuda {
namespace {

template <typename T>
__global__ void embedding_forward_kernel(const int32_t* ids, const T* table, T* out, int64_t n,
                                         int64_t c) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n * c;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t id = ids[i / c];
    out[i] =
        id == kIdOnAnotherShard ? store_as<T>(0.0f) : table[static_cast<int64_t>(id) * c + i % c];
  }
}

// groups: [unique ids (u) | offsets (u + 1) | token positions grouped by id (n)].
template <typename T>
__global__ void embedding_backward_kernel(const int32_t* groups, int64_t u, const T* dout,
                                          float* dtable, int64_t c) {
  const int64_t g = blockIdx.x;
  const int64_t col = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (col >= c) return;
  const int32_t* offsets = groups + u;
  const int32_t* positions = groups + 2 * u + 1;
  float* dst = dtable + static_cast<int64_t>(groups[g]) * c + col;
  float acc = *dst;
  for (int32_t k = offsets[g]; k < offsets[g + 1]; ++k) {
    acc += load(dout[static_cast<int64_t>(positions[k]) * c + col]);
  }
  *dst = acc;
}

// The stable grouping of token positions by id, packed for embedding_backward_kernel; tokens on
// another shard are left out.
std::vector<int32_t> group_by_id(const int32_t* ids, int64_t n, int64_t vocab, int64_t* unique) {
  std::vector<int32_t> count(static_cast<size_t>(vocab) + 1, 0);
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] == kIdOnAnotherShard) continue;
    ++count[static_cast<size_t>(ids[i]) + 1];
    ++kept;
  }
  std::vector<int32_t> present;
  for (int64_t v = 0; v < vocab; ++v) {
    if (count[v + 1] > 0) present.push_back(static_cast<int32_t>(v));
    count[v + 1] += count[v];  // count[v] becomes the start of id v
  }
  const int64_t u = static_cast<int64_t>(present.size());
  std::vector<int32_t> packed(static_cast<size_t>(2 * u + 1 + kept));
  int32_t* offsets = packed.data() + u;
  int32_t* positions = packed.data() + 2 * u + 1;
  for (int64_t g = 0; g < u; ++g) {
    packed[g] = present[g];
    offsets[g] = count[present[g]];
  }
  offsets[u] = static_cast<int32_t>(kept);
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] != kIdOnAnotherShard) positions[count[ids[i]]++] = static_cast<int32_t>(i);
  }
  *unique = u;
  return packed;
}

}  // namespace

void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out) {
  const int64_t n = ids.dim(0), c = table.dim(1);
  if (n * c == 0) return;
  const Context& ctx = context(table.device());
  with_storage(table.dtype(), "embedding_forward", [&](auto tag) {
    using T = decltype(tag);
    embedding_forward_kernel<<<grid_for(n * c), kThreads, 0, ctx.stream>>>(
        ids.data<int32_t>(), data_as<T>(table), data_as<T>(out), n, c);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void embedding_backward(const Tensor& host_ids, const Tensor& dout, Tensor& dtable) {
  const int64_t n = host_ids.dim(0), c = dtable.dim(1);
  if (n == 0 || c == 0) return;
  ME_CHECK(n < (int64_t{1} << 31), "embedding_backward: {} tokens exceed int32 positions", n);
  int64_t u = 0;
  const std::vector<int32_t> packed = group_by_id(host_ids.data<int32_t>(), n, dtable.dim(0), &u);
  if (u == 0) return;
  const Tensor groups =
      Tensor::from_vector(packed, {static_cast<int64_t>(packed.size())}, dtable.device());
  const Context& ctx = context(dtable.device());
  const dim3 grid(static_cast<unsigned>(u), ceil_div(c, kThreads));
  with_storage(dout.dtype(), "embedding_backward", [&](auto tag) {
    using T = decltype(tag);
    embedding_backward_kernel<<<grid, kThreads, 0, ctx.stream>>>(groups.data<int32_t>(), u,
                                                                 data_as<T>(dout), fptr(dtable), c);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
