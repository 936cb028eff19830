// Argument checks shared by the op entry points (kernels/<family>.cpp): each op checks its
// tensors once here, before dispatching to the CPU or CUDA implementation.
#pragma once

#include <string>
#include <string_view>

#include "engine/core/tensor.h"
#include "kernels/op_profile.h"

namespace me {

// The tensor is defined and floating point: f32 or f64 anywhere (the CPU reference computes in
// them), bf16 or f16 on CUDA only; anything else is an me::Error, since a recipe's dtype can reach
// it.
void check_float(std::string_view op, std::string_view name, const Tensor& t);

// Exactly this dtype (ME_CHECK: the engine, not the user, builds these tensors).
void check_dtype(std::string_view op, std::string_view name, const Tensor& t, DType dtype);
// Exactly this shape (ME_CHECK).
void check_shape(std::string_view op, std::string_view name, const Tensor& t, const Shape& shape);
// Same dtype and shape as `ref`.
void check_like(std::string_view op, std::string_view name, const Tensor& t, const Tensor& ref);
// Same shape as `ref`, dtype accum_dtype(ref.dtype()): a gradient of parameter `ref`.
void check_accum_like(std::string_view op, std::string_view name, const Tensor& t,
                      const Tensor& ref);

// All defined tensors live on one device (ME_CHECK); true when that device is the host.
template <typename... Tensors>
bool on_cpu(std::string_view op, const Tensors&... ts) {
  const Tensor* first = nullptr;
  bool same = true;
  auto visit = [&](const Tensor& t) {
    if (!t.defined()) return;
    if (!first) first = &t;
    same = same && t.device() == first->device();
  };
  (visit(ts), ...);
  ME_CHECK(same, "{}: tensors on different devices", op);
  return !first || first->device().is_cpu();
}

}  // namespace me

// The CUDA branch of an op entry point: the me::cuda call (timed under ME_PROFILE_OPS) in a CUDA
// build; in a CPU-only build no tensor can live on a GPU, but the branch must still compile, so it
// throws.
#ifdef ME_WITH_CUDA
#define ME_CUDA_OP(op, call)                     \
  {                                              \
    const ::me::OpProfileScope me_op_scope_(op); \
    call;                                        \
  }
#else
#define ME_CUDA_OP(op, call) \
  throw ::me::Error(std::string(op) + ": this megatron-engine was built without CUDA")
#endif
