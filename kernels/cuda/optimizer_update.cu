// CUDA AdamW and SGD (AdamW also over a chunk table in one launch), with the CPU reference's
// formulas and constants (computed on the host in double, 1 - beta included, then rounded to f32):
// AdamW: p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//        p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps).
#include <climits>
#include <cmath>

#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/optimizer_update.h"

namespace me::cuda {
namespace {

struct AdamConstants {
  float decay, b1, b2, one_minus_b1, one_minus_b2, step_size, bc2_sqrt, eps;
};

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n,
                             AdamConstants k) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float pi = p[i] * k.decay;
    const float gi = g[i];
    const float mi = k.b1 * m[i] + k.one_minus_b1 * gi;
    const float vi = k.b2 * v[i] + k.one_minus_b2 * gi * gi;
    pi -= k.step_size * mi / (sqrtf(vi) / k.bc2_sqrt + k.eps);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi;
  }
}

// One block per row {begin, end, state_begin, weight_decay} of the chunk table; `decay` applies
// where the row's flag is 1.
__global__ void adamw_chunks_kernel(float* p, const float* g, float* m, float* v,
                                    const int64_t* chunks, AdamConstants k) {
  const int64_t* row = chunks + 4 * static_cast<int64_t>(blockIdx.x);
  const int64_t begin = row[0], end = row[1], shift = row[2] - row[0];
  const float decay = row[3] != 0 ? k.decay : 1.0f;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    float pi = p[i] * decay;
    const float gi = g[i];
    const float mi = k.b1 * m[i + shift] + k.one_minus_b1 * gi;
    const float vi = k.b2 * v[i + shift] + k.one_minus_b2 * gi * gi;
    pi -= k.step_size * mi / (sqrtf(vi) / k.bc2_sqrt + k.eps);
    m[i + shift] = mi;
    v[i + shift] = vi;
    p[i] = pi;
  }
}

// The f32 constants of a step, computed in double on the host as the CPU reference does.
AdamConstants adam_constants(const AdamWStep& step) {
  const double t = static_cast<double>(step.step);
  return {static_cast<float>(1.0 - step.lr * step.weight_decay),
          static_cast<float>(step.beta1),
          static_cast<float>(step.beta2),
          static_cast<float>(1.0 - step.beta1),
          static_cast<float>(1.0 - step.beta2),
          static_cast<float>(step.lr / (1.0 - std::pow(step.beta1, t))),
          static_cast<float>(std::sqrt(1.0 - std::pow(step.beta2, t))),
          static_cast<float>(step.eps)};
}

// buf == nullptr when momentum is 0.
__global__ void sgd_kernel(float* p, const float* g, float* buf, int64_t n, float lr,
                           float momentum, float weight_decay, bool first_step) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float d = g[i] + weight_decay * p[i];
    if (buf) {
      buf[i] = first_step ? d : momentum * buf[i] + d;
      d = buf[i];
    }
    p[i] -= lr * d;
  }
}

}  // namespace

void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamWStep& step) {
  require_f32("adamw_update", "param", param);
  const int64_t n = param.numel();
  if (n == 0) return;
  const AdamConstants k = adam_constants(step);
  const Context& ctx = context(param.device());
  adamw_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(fptr(param), fptr(grad), fptr(exp_avg),
                                                         fptr(exp_avg_sq), n, k);
  ME_CUDA_CHECK(cudaGetLastError());
}

void adamw_update_chunks(Tensor& params, const Tensor& grads, Tensor& exp_avg, Tensor& exp_avg_sq,
                         const Tensor& chunks, const AdamWStep& step) {
  const int64_t count = chunks.dim(0);
  if (count == 0) return;
  ME_CHECK(count <= INT32_MAX, "adamw_update_chunks: {} chunks", count);
  const Context& ctx = context(params.device());
  adamw_chunks_kernel<<<static_cast<unsigned>(count), kThreads, 0, ctx.stream>>>(
      fptr(params), fptr(grads), fptr(exp_avg), fptr(exp_avg_sq), chunks.data<int64_t>(),
      adam_constants(step));
  ME_CUDA_CHECK(cudaGetLastError());
}

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr,
                double momentum, double weight_decay, bool first_step) {
  require_f32("sgd_update", "param", param);
  const int64_t n = param.numel();
  if (n == 0) return;
  float* buf = momentum == 0.0 ? nullptr : fptr(momentum_buffer);
  const Context& ctx = context(param.device());
  sgd_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(
      fptr(param), fptr(grad), buf, n, static_cast<float>(lr), static_cast<float>(momentum),
      static_cast<float>(weight_decay), first_step);
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
