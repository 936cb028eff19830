// Attention on the tensor cores through cuDNN's fused flash attention (the SDPA nodes of the
// cudnn-frontend graph API, headers installed by scripts/setup): bf16/f16 inputs, f32 softmax
// statistics (the log-sum-exp our contract saves), causal or full, grouped-query heads. Each shape
// builds its forward and backward graphs once and keeps them. The backward is deterministic unless
// deterministic_algorithms() is off (train.deterministic_mode: false, Megatron's default).
#include <cstring>  // before cudnn_frontend.h, whose shim uses std::strlen without it

#include <cudnn_frontend.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "kernels/cuda/attention_cudnn.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/determinism.h"

namespace me::cuda {
namespace {

namespace fe = cudnn_frontend;

// Tensor uids of the variant packs.
enum Uid : int64_t { kQ = 1, kK, kV, kO, kStats, kDO, kDQ, kDK, kDV };

#define ME_CUDNN_FE_CHECK(expr)                                                         \
  do {                                                                                  \
    auto me_status_ = (expr);                                                           \
    if (!me_status_.is_good()) {                                                        \
      throw ::me::Error(                                                                \
          fmt::format("cuDNN attention: {} in '{}'", me_status_.get_message(), #expr)); \
    }                                                                                   \
  } while (0)

#define ME_CUDNN_CHECK(expr)                                                                \
  do {                                                                                      \
    const cudnnStatus_t me_status_ = (expr);                                                \
    if (me_status_ != CUDNN_STATUS_SUCCESS) {                                               \
      throw ::me::Error(fmt::format("{} in '{}'", cudnnGetErrorString(me_status_), #expr)); \
    }                                                                                       \
  } while (0)

cudnnHandle_t handle_for(Device device) {
  static auto* handles = new std::map<int, cudnnHandle_t>();
  static std::mutex mutex;
  const Context& ctx = context(device);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles->find(device.index);
  if (it == handles->end()) {
    cudnnHandle_t handle = nullptr;
    ME_CUDNN_CHECK(cudnnCreate(&handle));
    ME_CUDNN_CHECK(cudnnSetStream(handle, ctx.stream));
    it = handles->emplace(device.index, handle).first;
  }
  return it->second;
}

struct Shape4 {
  int64_t b, t, hq, hkv, d;
};

Shape4 shape_of(const Tensor& q, const Tensor& k) {
  return {q.dim(0), q.dim(1), q.dim(2), k.dim(2), q.dim(3)};
}

// The strides of (B, T, H, D) row-major as cuDNN's (b, h, s, d) dims; `packed`: one of q, k, v
// inside the fused (B, T, H, 3, D) projection of multi-head attention (kernels/attention.h).
std::vector<int64_t> bthd_stride(const Shape4& s, int64_t heads, bool packed) {
  const int64_t per_head = packed ? 3 * s.d : s.d;
  return {s.t * heads * per_head, per_head, heads * per_head, 1};
}

std::shared_ptr<fe::graph::Tensor_attributes> bthd(fe::graph::Graph& graph, const char* name,
                                                   int64_t uid, const Shape4& s, int64_t heads,
                                                   bool packed = false) {
  return graph.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_uid(uid)
                          .set_dim({s.b, heads, s.t, s.d})
                          .set_stride(bthd_stride(s, heads, packed)));
}

// Our lse (B, Hq, T) f32 as cuDNN's (b, h, s, 1) softmax statistics.
std::vector<int64_t> stats_dim(const Shape4& s) { return {s.b, s.hq, s.t, 1}; }
std::vector<int64_t> stats_stride(const Shape4& s) { return {s.hq * s.t, s.t, 1, 1}; }

// backward, dtype, b, t, hq, hkv, d, causal, scale, device, deterministic, packed q/k/v
using GraphKey = std::tuple<bool, int, int64_t, int64_t, int64_t, int64_t, int64_t, bool, float,
                            int, bool, bool>;

std::shared_ptr<fe::graph::Graph> build(const GraphKey& key, cudnnHandle_t handle) {
  const auto [backward, dtype, b, t, hq, hkv, d, causal, scale, device, deterministic, packed] =
      key;
  const Shape4 s{b, t, hq, hkv, d};
  auto graph = std::make_shared<fe::graph::Graph>();
  graph
      ->set_io_data_type(static_cast<DType>(dtype) == DType::kBF16 ? fe::DataType_t::BFLOAT16
                                                                   : fe::DataType_t::HALF)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  const auto q = bthd(*graph, "q", kQ, s, hq, packed);
  const auto k = bthd(*graph, "k", kK, s, hkv, packed);
  const auto v = bthd(*graph, "v", kV, s, hkv, packed);
  if (!backward) {
    auto options = fe::graph::SDPA_attributes()
                       .set_name("attention_forward")
                       .set_generate_stats(true)
                       .set_causal_mask(causal)
                       .set_attn_scale(scale);
    auto [o, stats] = graph->sdpa(q, k, v, options);
    o->set_output(true).set_uid(kO).set_dim({b, hq, t, d}).set_stride({t * hq * d, d, hq * d, 1});
    stats->set_output(true)
        .set_uid(kStats)
        .set_data_type(fe::DataType_t::FLOAT)
        .set_dim(stats_dim(s))
        .set_stride(stats_stride(s));
  } else {
    const auto o = bthd(*graph, "o", kO, s, hq);
    const auto d_o = bthd(*graph, "dO", kDO, s, hq);
    const auto stats = graph->tensor(fe::graph::Tensor_attributes()
                                         .set_name("stats")
                                         .set_uid(kStats)
                                         .set_dim(stats_dim(s))
                                         .set_stride(stats_stride(s))
                                         .set_data_type(fe::DataType_t::FLOAT));
    // Deterministic (deterministic_algorithms()): one fixed summation order for every gradient.
    auto options = fe::graph::SDPA_backward_attributes()
                       .set_name("attention_backward")
                       .set_causal_mask(causal)
                       .set_attn_scale(scale)
                       .set_deterministic_algorithm(deterministic);
    auto [dq, dk, dv] = graph->sdpa_backward(q, k, v, o, d_o, stats, options);
    dq->set_output(true).set_uid(kDQ).set_dim({b, hq, t, d}).set_stride(bthd_stride(s, hq, packed));
    dk->set_output(true)
        .set_uid(kDK)
        .set_dim({b, hkv, t, d})
        .set_stride(bthd_stride(s, hkv, packed));
    dv->set_output(true)
        .set_uid(kDV)
        .set_dim({b, hkv, t, d})
        .set_stride(bthd_stride(s, hkv, packed));
  }
  ME_CUDNN_FE_CHECK(graph->validate());
  ME_CUDNN_FE_CHECK(graph->build_operation_graph(handle));
  ME_CUDNN_FE_CHECK(graph->create_execution_plans({fe::HeurMode_t::A}));
  ME_CUDNN_FE_CHECK(graph->check_support(handle));
  ME_CUDNN_FE_CHECK(graph->build_plans(handle));
  return graph;
}

// The graph of this shape, built on first use; q gives the dtype and device.
const fe::graph::Graph& graph_for(bool backward, const Shape4& s, const Tensor& q,
                                  const AttentionParams& params, cudnnHandle_t handle,
                                  bool packed = false) {
  static auto* graphs = new std::map<GraphKey, std::shared_ptr<fe::graph::Graph>>();
  static std::mutex mutex;
  const GraphKey key{backward,
                     static_cast<int>(q.dtype()),
                     s.b,
                     s.t,
                     s.hq,
                     s.hkv,
                     s.d,
                     params.causal,
                     static_cast<float>(params.scale),
                     q.device().index,
                     backward && deterministic_algorithms(),
                     packed};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = graphs->find(key);
  if (it == graphs->end()) it = graphs->emplace(key, build(key, handle)).first;
  return *it->second;
}

void execute(const fe::graph::Graph& graph, cudnnHandle_t handle,
             std::unordered_map<int64_t, void*>& pack, Device device) {
  int64_t workspace_bytes = 0;
  ME_CUDNN_FE_CHECK(graph.get_workspace_size(workspace_bytes));
  const Tensor workspace = workspace_bytes > 0
                               ? Tensor::empty({(workspace_bytes + 3) / 4}, DType::kF32, device)
                               : Tensor();
  ME_CUDNN_FE_CHECK(
      graph.execute(handle, pack, workspace.defined() ? workspace.raw_data() : nullptr));
}

}  // namespace

bool cudnn_attention_applies(const Tensor& q, const AttentionParams& params) {
  const bool half = q.dtype() == DType::kBF16 || q.dtype() == DType::kF16;
  // Dropout and document masks keep our kernels: their masks follow our Philox and document
  // rules, which the CPU reference shares.
  return half && params.dropout_p == 0.0 && !params.document_ids.defined() && q.dim(3) % 8 == 0 &&
         q.dim(3) <= 128;
}

void cudnn_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                             Tensor& lse, const AttentionParams& params) {
  cudnnHandle_t handle = handle_for(q.device());
  const fe::graph::Graph& graph = graph_for(false, shape_of(q, k), q, params, handle);
  std::unordered_map<int64_t, void*> pack = {{kQ, q.raw_data()},
                                             {kK, k.raw_data()},
                                             {kV, v.raw_data()},
                                             {kO, out.raw_data()},
                                             {kStats, lse.raw_data()}};
  execute(graph, handle, pack, q.device());
}

void cudnn_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv, const AttentionParams& params) {
  cudnnHandle_t handle = handle_for(q.device());
  const fe::graph::Graph& graph = graph_for(true, shape_of(q, k), q, params, handle);
  std::unordered_map<int64_t, void*> pack = {
      {kQ, q.raw_data()},   {kK, k.raw_data()},       {kV, v.raw_data()},
      {kO, out.raw_data()}, {kStats, lse.raw_data()}, {kDO, dout.raw_data()},
      {kDQ, dq.raw_data()}, {kDK, dk.raw_data()},     {kDV, dv.raw_data()}};
  execute(graph, handle, pack, q.device());
}

namespace {
// q, k and v of the fused (B, T, H, 3, D) projection: the same buffer, D elements apart.
struct PackedHeads {
  Shape4 shape;
  void* q;
  void* k;
  void* v;
};
PackedHeads packed_heads(const Tensor& qkv, const Tensor& out) {
  const int64_t h = out.dim(2), d = out.dim(3);
  char* base = static_cast<char*>(qkv.raw_data());
  const int64_t head_bytes = d * static_cast<int64_t>(dtype_size(qkv.dtype()));
  return {{out.dim(0), out.dim(1), h, h, d}, base, base + head_bytes, base + 2 * head_bytes};
}
}  // namespace

void cudnn_attention_forward_qkv(const Tensor& qkv, Tensor& out, Tensor& lse,
                                 const AttentionParams& params) {
  cudnnHandle_t handle = handle_for(qkv.device());
  const PackedHeads heads = packed_heads(qkv, out);
  const fe::graph::Graph& graph = graph_for(false, heads.shape, qkv, params, handle, true);
  std::unordered_map<int64_t, void*> pack = {
      {kQ, heads.q}, {kK, heads.k}, {kV, heads.v}, {kO, out.raw_data()}, {kStats, lse.raw_data()}};
  execute(graph, handle, pack, qkv.device());
}

void cudnn_attention_backward_qkv(const Tensor& qkv, const Tensor& out, const Tensor& lse,
                                  const Tensor& dout, Tensor& dqkv, const AttentionParams& params) {
  cudnnHandle_t handle = handle_for(qkv.device());
  const PackedHeads heads = packed_heads(qkv, out);
  const PackedHeads grads = packed_heads(dqkv, out);
  const fe::graph::Graph& graph = graph_for(true, heads.shape, qkv, params, handle, true);
  std::unordered_map<int64_t, void*> pack = {{kQ, heads.q},
                                             {kK, heads.k},
                                             {kV, heads.v},
                                             {kO, out.raw_data()},
                                             {kStats, lse.raw_data()},
                                             {kDO, dout.raw_data()},
                                             {kDQ, grads.q},
                                             {kDK, grads.k},
                                             {kDV, grads.v}};
  execute(graph, handle, pack, qkv.device());
}

}  // namespace me::cuda
