// Attention on the tensor cores through cuDNN's fused flash attention (the SDPA nodes of the
// cudnn-frontend graph API, headers installed by scripts/setup): bf16/f16 inputs, f32 softmax
// statistics (the log-sum-exp our contract saves), grouped-query heads, Tq != Tk, the causal mask
// as a top-left diagonal band, kv_lengths as cuDNN's padding mask and an additive bias with its
// gradient. Each configuration builds its forward and backward graphs once and keeps them. The
// backward is deterministic unless deterministic_algorithms() is off (train.deterministic_mode:
// false, Megatron's default). Samples with no key (kv_lengths 0) get NaN rows from cuDNN before
// 9.25, so cuDNN sees at least one key and those rows are then set as our contract has them.
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
enum Uid : int64_t {
  kQ = 1,
  kK,
  kV,
  kO,
  kStats,
  kDO,
  kDQ,
  kDK,
  kDV,
  kBias,
  kDBias,
  kSeqLenQ,
  kSeqLenKV
};

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

struct Dims {
  int64_t b, tq, tk, hq, hkv, d;
};

Dims dims_of(const Tensor& q, const Tensor& k) {
  return {q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3)};
}

// The strides of a (B, T, H, D) row-major tensor as cuDNN's (b, h, s, d) dims; `packed`: one of
// q, k, v inside the fused (B, T, H, 3, D) projection of multi-head attention.
std::vector<int64_t> bthd_stride(int64_t t, int64_t heads, int64_t d, bool packed) {
  const int64_t per_head = packed ? 3 * d : d;
  return {t * heads * per_head, per_head, heads * per_head, 1};
}

std::shared_ptr<fe::graph::Tensor_attributes> bthd(fe::graph::Graph& graph, const char* name,
                                                   int64_t uid, int64_t b, int64_t t, int64_t heads,
                                                   int64_t d, bool packed) {
  return graph.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_uid(uid)
                          .set_dim({b, heads, t, d})
                          .set_stride(bthd_stride(t, heads, d, packed)));
}

// Everything a graph depends on.
struct GraphKey {
  bool backward;
  int dtype;
  int64_t b, tq, tk, hq, hkv, d;
  int64_t right_bound;  // causal band: query i sees keys j <= i + right_bound; -1: no band
  bool padding;         // kv_lengths given: cuDNN's padding mask
  int64_t bias_batch;   // the bias's Bb, 0 without a bias
  bool dbias;
  float scale;
  int device;
  bool deterministic;
  bool packed;  // q, k, v (and dq, dk, dv) inside the fused (B, T, H, 3, D) projection
  auto fields() const {
    return std::tie(backward, dtype, b, tq, tk, hq, hkv, d, right_bound, padding, bias_batch, dbias,
                    scale, device, deterministic, packed);
  }
  bool operator<(const GraphKey& other) const { return fields() < other.fields(); }
};

GraphKey key_for(bool backward, const Dims& s, const Tensor& q, const AttentionParams& params,
                 bool packed, bool dbias) {
  // A band that reaches the last key is no band (and no graph of its own).
  const int64_t shift = attention_diagonal_shift(params, s.tq, s.tk);
  return {backward,
          static_cast<int>(q.dtype()),
          s.b,
          s.tq,
          s.tk,
          s.hq,
          s.hkv,
          s.d,
          shift < s.tk - 1 ? shift : -1,
          params.kv_lengths.defined(),
          params.bias.defined() ? params.bias.dim(0) : 0,
          dbias,
          static_cast<float>(params.scale),
          q.device().index,
          backward && deterministic_algorithms(),
          packed};
}

// Our lse (B, Hq, Tq) f32 as cuDNN's (b, h, s, 1) softmax statistics.
std::vector<int64_t> stats_dim(const GraphKey& key) { return {key.b, key.hq, key.tq, 1}; }
std::vector<int64_t> stats_stride(const GraphKey& key) { return {key.hq * key.tq, key.tq, 1, 1}; }

// (Bb, Hq, Tq, Tk) row-major: the bias and dbias.
std::shared_ptr<fe::graph::Tensor_attributes> score_tensor(fe::graph::Graph& graph,
                                                           const char* name, int64_t uid,
                                                           const GraphKey& key, int64_t batch) {
  return graph.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_uid(uid)
                          .set_dim({batch, key.hq, key.tq, key.tk})
                          .set_stride({key.hq * key.tq * key.tk, key.tq * key.tk, key.tk, 1}));
}

// (B) i32 sequence lengths as cuDNN's (b, 1, 1, 1).
std::shared_ptr<fe::graph::Tensor_attributes> length_tensor(fe::graph::Graph& graph,
                                                            const char* name, int64_t uid,
                                                            const GraphKey& key) {
  return graph.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_uid(uid)
                          .set_dim({key.b, 1, 1, 1})
                          .set_stride({1, 1, 1, 1})
                          .set_data_type(fe::DataType_t::INT32));
}

// The causal band, padding mask and bias of SDPA_attributes or SDPA_backward_attributes.
template <typename Options>
void set_masks(Options& options, fe::graph::Graph& graph, const GraphKey& key) {
  if (key.right_bound >= 0) {
    options.set_diagonal_alignment(fe::DiagonalAlignment_t::TOP_LEFT)
        .set_diagonal_band_right_bound(static_cast<int>(key.right_bound));
  }
  if (key.padding) {
    options.set_padding_mask(true)
        .set_seq_len_q(length_tensor(graph, "seq_len_q", kSeqLenQ, key))
        .set_seq_len_kv(length_tensor(graph, "seq_len_kv", kSeqLenKV, key));
  }
  if (key.bias_batch > 0) options.set_bias(score_tensor(graph, "bias", kBias, key, key.bias_batch));
}

std::shared_ptr<fe::graph::Graph> build(const GraphKey& key, cudnnHandle_t handle) {
  auto graph = std::make_shared<fe::graph::Graph>();
  graph
      ->set_io_data_type(static_cast<DType>(key.dtype) == DType::kBF16 ? fe::DataType_t::BFLOAT16
                                                                       : fe::DataType_t::HALF)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  const auto q = bthd(*graph, "q", kQ, key.b, key.tq, key.hq, key.d, key.packed);
  const auto k = bthd(*graph, "k", kK, key.b, key.tk, key.hkv, key.d, key.packed);
  const auto v = bthd(*graph, "v", kV, key.b, key.tk, key.hkv, key.d, key.packed);
  if (!key.backward) {
    auto options = fe::graph::SDPA_attributes()
                       .set_name("attention_forward")
                       .set_generate_stats(true)
                       .set_attn_scale(key.scale);
    set_masks(options, *graph, key);
    auto [o, stats] = graph->sdpa(q, k, v, options);
    o->set_output(true)
        .set_uid(kO)
        .set_dim({key.b, key.hq, key.tq, key.d})
        .set_stride(bthd_stride(key.tq, key.hq, key.d, false));
    stats->set_output(true)
        .set_uid(kStats)
        .set_data_type(fe::DataType_t::FLOAT)
        .set_dim(stats_dim(key))
        .set_stride(stats_stride(key));
  } else {
    const auto o = bthd(*graph, "o", kO, key.b, key.tq, key.hq, key.d, false);
    const auto d_o = bthd(*graph, "dO", kDO, key.b, key.tq, key.hq, key.d, false);
    const auto stats = graph->tensor(fe::graph::Tensor_attributes()
                                         .set_name("stats")
                                         .set_uid(kStats)
                                         .set_dim(stats_dim(key))
                                         .set_stride(stats_stride(key))
                                         .set_data_type(fe::DataType_t::FLOAT));
    // Deterministic (deterministic_algorithms()): one fixed summation order for every gradient.
    auto options = fe::graph::SDPA_backward_attributes()
                       .set_name("attention_backward")
                       .set_attn_scale(key.scale)
                       .set_deterministic_algorithm(key.deterministic);
    set_masks(options, *graph, key);
    if (key.dbias) options.set_dbias(score_tensor(*graph, "dbias", kDBias, key, 1));
    auto [dq, dk, dv] = graph->sdpa_backward(q, k, v, o, d_o, stats, options);
    dq->set_output(true)
        .set_uid(kDQ)
        .set_dim({key.b, key.hq, key.tq, key.d})
        .set_stride(bthd_stride(key.tq, key.hq, key.d, key.packed));
    dk->set_output(true)
        .set_uid(kDK)
        .set_dim({key.b, key.hkv, key.tk, key.d})
        .set_stride(bthd_stride(key.tk, key.hkv, key.d, key.packed));
    dv->set_output(true)
        .set_uid(kDV)
        .set_dim({key.b, key.hkv, key.tk, key.d})
        .set_stride(bthd_stride(key.tk, key.hkv, key.d, key.packed));
  }
  ME_CUDNN_FE_CHECK(graph->validate());
  ME_CUDNN_FE_CHECK(graph->build_operation_graph(handle));
  ME_CUDNN_FE_CHECK(graph->create_execution_plans({fe::HeurMode_t::A}));
  ME_CUDNN_FE_CHECK(graph->check_support(handle));
  ME_CUDNN_FE_CHECK(graph->build_plans(handle));
  return graph;
}

// The graph of this configuration, built on first use.
const fe::graph::Graph& graph_for(const GraphKey& key, cudnnHandle_t handle) {
  static auto* graphs = new std::map<GraphKey, std::shared_ptr<fe::graph::Graph>>();
  static std::mutex mutex;
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

// Sample b's keys before its padding, clamped to [lowest, Tk].
__device__ int64_t key_count(const int32_t* kv_lengths, int64_t bi, int64_t lowest, int64_t tk) {
  return min(max(static_cast<int64_t>(kv_lengths[bi]), lowest), tk);
}

// cuDNN's padding lengths: every query real, at least one key per sample (see the file header).
__global__ void padding_lengths_kernel(const int32_t* kv_lengths, int32_t* seq_len_q,
                                       int32_t* seq_len_kv, int64_t b, int64_t tq, int64_t tk) {
  const int64_t bi = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (bi >= b) return;
  seq_len_q[bi] = static_cast<int32_t>(tq);
  seq_len_kv[bi] = static_cast<int32_t>(key_count(kv_lengths, bi, 1, tk));
}

// Rows of samples with no key: out (B, per_sample_out) 0 and lse (B, per_sample_lse) -inf.
// 2-byte storage (bf16 and f16 share the bits of zero).
__global__ void empty_samples_kernel(const int32_t* kv_lengths, uint16_t* out, float* lse,
                                     int64_t b, int64_t per_sample_out, int64_t per_sample_lse) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  for (int64_t e = first; e < b * per_sample_out; e += stride) {
    if (kv_lengths[e / per_sample_out] <= 0) out[e] = 0;
  }
  for (int64_t e = first; e < b * per_sample_lse; e += stride) {
    if (kv_lengths[e / per_sample_lse] <= 0) lse[e] = -INFINITY;
  }
}

// The statistics cuDNN's backward reads: lse, with +inf for rows that saw no key, so their
// probabilities exp(s - inf) are 0 and they give no gradient.
__global__ void backward_stats_kernel(const float* lse, float* stats, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += stride) {
    stats[e] = lse[e] == -INFINITY ? INFINITY : lse[e];
  }
}

// Zeroes the rows of the padded keys j >= kv_lengths[b] of a key gradient laid out as `stride`
// (cuDNN's (b, h, s, d) order): our contract writes zeros there, cuDNN does not promise them.
__global__ void zero_padded_keys_kernel(uint16_t* grad, const int32_t* kv_lengths, int64_t b,
                                        int64_t tk, int64_t heads, int64_t d, int64_t batch_stride,
                                        int64_t head_stride, int64_t token_stride) {
  const int64_t n = b * tk * heads * d, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += stride) {
    const int64_t x = e % d, h = e / d % heads, j = e / (d * heads) % tk, bi = e / (d * heads * tk);
    if (j >= key_count(kv_lengths, bi, 0, tk)) {
      grad[bi * batch_stride + h * head_stride + j * token_stride + x] = 0;
    }
  }
}

// The sequence-length buffers of a padded call (undefined without kv_lengths).
struct PaddingLengths {
  Tensor seq_len_q, seq_len_kv;
};

PaddingLengths padding_lengths(const Dims& s, const AttentionParams& params, cudaStream_t stream) {
  if (!params.kv_lengths.defined()) return {};
  const Device device = params.kv_lengths.device();
  PaddingLengths lengths{Tensor::empty({s.b}, DType::kI32, device),
                         Tensor::empty({s.b}, DType::kI32, device)};
  padding_lengths_kernel<<<ceil_div(s.b, kThreads), kThreads, 0, stream>>>(
      params.kv_lengths.data<int32_t>(), lengths.seq_len_q.data<int32_t>(),
      lengths.seq_len_kv.data<int32_t>(), s.b, s.tq, s.tk);
  ME_CUDA_CHECK(cudaGetLastError());
  return lengths;
}

// The bias and padding entries of a variant pack.
void add_masks(std::unordered_map<int64_t, void*>& pack, const AttentionParams& params,
               const PaddingLengths& lengths) {
  if (params.bias.defined()) pack[kBias] = params.bias.raw_data();
  if (lengths.seq_len_q.defined()) {
    pack[kSeqLenQ] = lengths.seq_len_q.raw_data();
    pack[kSeqLenKV] = lengths.seq_len_kv.raw_data();
  }
}

// q, k, v (and their gradients) as pointers into one or three buffers.
struct Heads {
  void* q;
  void* k;
  void* v;
};

// Forward on q, k, v at `heads` (laid out as `packed` says); `ref` gives dtype and device.
void run_forward(const Dims& s, const Tensor& ref, const Heads& heads, bool packed, Tensor& out,
                 Tensor& lse, const AttentionParams& params) {
  cudnnHandle_t handle = handle_for(ref.device());
  const cudaStream_t stream = context(ref.device()).stream;
  const fe::graph::Graph& graph = graph_for(key_for(false, s, ref, params, packed, false), handle);
  const PaddingLengths lengths = padding_lengths(s, params, stream);
  std::unordered_map<int64_t, void*> pack = {
      {kQ, heads.q}, {kK, heads.k}, {kV, heads.v}, {kO, out.raw_data()}, {kStats, lse.raw_data()}};
  add_masks(pack, params, lengths);
  execute(graph, handle, pack, ref.device());
  if (params.kv_lengths.defined()) {
    empty_samples_kernel<<<grid_for(out.numel()), kThreads, 0, stream>>>(
        params.kv_lengths.data<int32_t>(), static_cast<uint16_t*>(out.raw_data()), fptr(lse), s.b,
        s.tq * s.hq * s.d, s.hq * s.tq);
    ME_CUDA_CHECK(cudaGetLastError());
  }
}

// Backward writing the gradients at `grads` (laid out as `packed` says).
void run_backward(const Dims& s, const Tensor& ref, const Heads& heads, const Heads& grads,
                  bool packed, const Tensor& out, const Tensor& lse, const Tensor& dout,
                  const AttentionParams& params, Tensor* dbias) {
  cudnnHandle_t handle = handle_for(ref.device());
  const cudaStream_t stream = context(ref.device()).stream;
  const fe::graph::Graph& graph =
      graph_for(key_for(true, s, ref, params, packed, dbias != nullptr), handle);
  const PaddingLengths lengths = padding_lengths(s, params, stream);
  Tensor stats = lse;
  if (params.kv_lengths.defined()) {
    stats = Tensor::empty(lse.shape(), DType::kF32, lse.device());
    backward_stats_kernel<<<grid_for(lse.numel()), kThreads, 0, stream>>>(fptr(lse), fptr(stats),
                                                                          lse.numel());
    ME_CUDA_CHECK(cudaGetLastError());
  }
  std::unordered_map<int64_t, void*> pack = {{kQ, heads.q},
                                             {kK, heads.k},
                                             {kV, heads.v},
                                             {kO, out.raw_data()},
                                             {kStats, stats.raw_data()},
                                             {kDO, dout.raw_data()},
                                             {kDQ, grads.q},
                                             {kDK, grads.k},
                                             {kDV, grads.v}};
  add_masks(pack, params, lengths);
  if (dbias != nullptr) pack[kDBias] = dbias->raw_data();
  execute(graph, handle, pack, ref.device());
  if (params.kv_lengths.defined()) {
    const std::vector<int64_t> stride = bthd_stride(s.tk, s.hkv, s.d, packed);
    for (void* grad : {grads.k, grads.v}) {
      zero_padded_keys_kernel<<<grid_for(s.b * s.tk * s.hkv * s.d), kThreads, 0, stream>>>(
          static_cast<uint16_t*>(grad), params.kv_lengths.data<int32_t>(), s.b, s.tk, s.hkv, s.d,
          stride[0], stride[1], stride[2]);
      ME_CUDA_CHECK(cudaGetLastError());
    }
  }
}

// q, k and v of the fused (B, T, H, 3, D) projection: the same buffer, D elements apart.
Heads packed_heads(const Tensor& qkv, const Tensor& out) {
  char* base = static_cast<char*>(qkv.raw_data());
  const int64_t head_bytes = out.dim(3) * static_cast<int64_t>(dtype_size(qkv.dtype()));
  return {base, base + head_bytes, base + 2 * head_bytes};
}

Dims packed_dims(const Tensor& out) {
  return {out.dim(0), out.dim(1), out.dim(1), out.dim(2), out.dim(2), out.dim(3)};
}

}  // namespace

bool cudnn_attention_applies(const Tensor& q, const Tensor& k, const AttentionParams& params,
                             bool writes_dbias) {
  const bool half = q.dtype() == DType::kBF16 || q.dtype() == DType::kF16;
  const int64_t tq = q.dim(1), tk = k.dim(1), d = q.dim(3);
  return half && params.dropout_p == 0.0 && !params.document_ids.defined() && d % 8 == 0 &&
         d <= 128 && tq >= 2 && tk >= 1 && attention_diagonal_shift(params, tq, tk) >= 0 &&
         !(writes_dbias && params.bias.dim(0) != 1);
}

void cudnn_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                             Tensor& lse, const AttentionParams& params) {
  run_forward(dims_of(q, k), q, {q.raw_data(), k.raw_data(), v.raw_data()}, false, out, lse,
              params);
}

void cudnn_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv, const AttentionParams& params, Tensor* dbias) {
  run_backward(dims_of(q, k), q, {q.raw_data(), k.raw_data(), v.raw_data()},
               {dq.raw_data(), dk.raw_data(), dv.raw_data()}, false, out, lse, dout, params, dbias);
}

void cudnn_attention_forward_qkv(const Tensor& qkv, Tensor& out, Tensor& lse,
                                 const AttentionParams& params) {
  run_forward(packed_dims(out), qkv, packed_heads(qkv, out), true, out, lse, params);
}

void cudnn_attention_backward_qkv(const Tensor& qkv, const Tensor& out, const Tensor& lse,
                                  const Tensor& dout, Tensor& dqkv, const AttentionParams& params,
                                  Tensor* dbias) {
  run_backward(packed_dims(out), qkv, packed_heads(qkv, out), packed_heads(dqkv, out), true, out,
               lse, dout, params, dbias);
}

}  // namespace me::cuda
