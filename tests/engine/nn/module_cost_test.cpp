// Module cost reports against what the modules do: the bytes a real forward leaves saved in its
// context, and the most its backward holds beyond them as the host allocator counts it; FLOPs
// and tensor-parallel traffic against hand-derived formulas.
#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "engine/core/allocator.h"
#include "engine/models/transformer_config.h"
#include "engine/nn/embedding.h"
#include "engine/nn/layer_norm.h"
#include "engine/nn/linear.h"
#include "engine/nn/lm_head.h"
#include "engine/nn/mlp.h"
#include "engine/nn/recompute.h"
#include "engine/nn/rms_norm.h"
#include "engine/nn/self_attention.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/nn/transformer_layer.h"
#include "tests/support/grad_check.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kB = 2, kT = 16;  // the tiny recipe's seq_length
constexpr double kTokens = kB * kT;
constexpr int64_t kC = 16, kHeads = 4, kF = 24;  // the tiny recipe's widths

CostQuery f32_query() {
  CostQuery q;
  q.dtype = DType::kF32;
  q.seq_length = kT;
  return q;
}

// Per token: what the context holds after forward (its input and output dropped), and the most
// backward holds beyond that, its incoming gradient included.
struct Measured {
  double saved = 0;
  double backward = 0;
};

// The most bytes the host allocator handed out while `run` ran, beyond those out at its start.
double peak_above_start(const std::function<void()>& run) {
  Allocator& cpu = allocator_for(Device::cpu());
  // Ballast up to the high-water mark: whatever `run` holds beyond its start sets a new one.
  const size_t gap = cpu.peak_bytes() - cpu.allocated_bytes();
  const Tensor ballast = Tensor::empty({static_cast<int64_t>(gap / 4 + 1)}, DType::kI32);
  const size_t start = cpu.allocated_bytes();
  run();
  return static_cast<double>(cpu.peak_bytes() - start);
}

// forward returns the output (undefined for a loss); backward gets a gradient shaped like it.
Measured measure(const std::function<Tensor(MicroBatchContext&)>& forward,
                 const std::function<void(const Tensor&, MicroBatchContext&)>& backward) {
  MicroBatchContext ctx(true, 11, 0, 0);
  Tensor dy;
  {
    const Tensor y = forward(ctx);
    if (y.defined()) dy = test::random_tensor(y.shape(), y.dtype(), 12);
  }
  Measured m;
  m.saved = static_cast<double>(ctx.saved_bytes()) / kTokens;
  const double incoming = dy.defined() ? static_cast<double>(dy.nbytes()) : 0.0;
  m.backward = (peak_above_start([&] { backward(dy, ctx); }) + incoming) / kTokens;
  return m;
}

Measured measure_layer(Layer& layer, bool positions = false) {
  test::bind_standalone(layer.parameters(), DType::kF32, 5);
  return measure(
      [&](MicroBatchContext& ctx) {
        if (positions) {
          std::vector<int32_t> pos(kB * kT);
          for (int64_t i = 0; i < kB * kT; ++i) pos[static_cast<size_t>(i)] = i % kT;
          ctx.set_sequence({Tensor::from_vector(pos, {kB, kT})});
        }
        return layer.forward(test::random_tensor({kB, kT, kC}, DType::kF32, 3), ctx);
      },
      [&](const Tensor& dy, MicroBatchContext& ctx) { layer.backward(dy, ctx); });
}

void check_reports(const ModuleCost& cost, const Measured& measured) {
  CHECK(cost.saved == measured.saved);
  CHECK(cost.backward == measured.backward);
}

LayerConfig tiny_config(const test::TinyGpt& tiny = {}) {
  return layer_config(test::tiny_gpt_recipe(tiny));
}

test::TinyGpt llama_shaped() {
  test::TinyGpt tiny;
  tiny.num_query_groups = 2;
  tiny.position_embedding_type = "rope";
  tiny.normalization = "RMSNorm";
  tiny.swiglu = true;
  tiny.add_bias_linear = false;
  tiny.qk_layernorm = true;
  return tiny;
}

TEST_CASE("norms keep their input and statistics and hold dy and dx in backward") {
  LayerNorm ln("ln", kC, 1e-5);
  const ModuleCost l = ln.cost(f32_query());
  CHECK(l.saved == kC * 4 + 2 * 4);  // input, mean and rstd
  CHECK(l.backward == 2 * kC * 4);
  CHECK(l.flops == 0);
  check_reports(l, measure_layer(ln));
  RmsNorm rms("rms", kC, 1e-5);
  const ModuleCost r = rms.cost(f32_query());
  CHECK(r.saved == kC * 4 + 4);
  check_reports(r, measure_layer(rms));
  // Half precision: the input in 2 bytes, the statistics still f32; per-head rows (a q norm).
  CostQuery half = f32_query().with_rows(kHeads);
  half.dtype = DType::kBF16;
  CHECK(ln.cost(half).saved == kHeads * (kC * 2 + 2 * 4));
}

TEST_CASE("linear layers keep their input and count 6 FLOPs per weight and token") {
  for (const TensorSplit split : {TensorSplit::kColumn, TensorSplit::kRow}) {
    Linear linear("linear", kC, kF, true, ParamInit::normal(0.02), split);
    test::bind_standalone(linear.parameters(), DType::kF32, 5);
    const Measured m = measure(
        [&](MicroBatchContext& ctx) {
          return linear.forward(test::random_tensor({kB, kT, kC}, DType::kF32, 3), ctx);
        },
        [&](const Tensor& dy, MicroBatchContext& ctx) { linear.backward(dy, ctx); });
    const ModuleCost c = linear.cost(f32_query());
    CHECK(c.saved == kC * 4);
    CHECK(c.backward == (kF + kC) * 4);  // dy and dx
    CHECK(c.flops == 6 * kC * kF);
    CHECK(c.tensor_parallel_bytes == 0);
    check_reports(c, m);
  }
}

TEST_CASE("mlp backward peaks in fc2 with GeLU's host temporary and in fc1 with SwiGLU") {
  Mlp gelu("mlp", tiny_config().mlp);
  const ModuleCost g = gelu.cost(f32_query());
  CHECK(g.saved == (kC + 2 * kF) * 4);     // fc1 input, fc1 output, fc2 input
  CHECK(g.backward == (kC + 2 * kF) * 4);  // dy, fc2's input gradient, the GEMM result before GeLU
  CHECK(g.flops == 2 * 6 * kC * kF);
  check_reports(g, measure_layer(gelu));
  CostQuery device = f32_query();
  device.host = false;
  CHECK(gelu.cost(device).backward == (kC + kF) * 4);  // fused on CUDA

  Mlp swiglu("mlp", tiny_config(llama_shaped()).mlp);
  const ModuleCost s = swiglu.cost(f32_query());
  CHECK(s.saved == (kC + 3 * kF) * 4);  // fc1 input, [gate | up], fc2 input
  // In fc1's backward: dy, the activation's gradient (F), fc1's output gradient (2F) and dx,
  // fc2's input released.
  CHECK(s.backward == (2 * kC + 2 * kF) * 4);
  CHECK(s.flops == 6 * kC * 2 * kF + 6 * kF * kC);
  check_reports(s, measure_layer(swiglu));
}

TEST_CASE("self-attention reports q k v out and lse, and the score products by mask") {
  SelfAttention mha("attn", tiny_config().attention);
  const ModuleCost c = mha.cost(f32_query());
  // qkv input C, q k v 3C, out C (also linear_proj's input), lse one f32 per head.
  CHECK(c.saved == 5 * kC * 4 + kHeads * 4);
  // In linear_qkv's backward: dy, dout, dq dk dv, dqkv and dx.
  CHECK(c.backward == 9 * kC * 4);
  const double causal = 6.0 * kT * kC;  // 12 q_width keys, half the keys
  CHECK(c.flops == 6 * kC * 3 * kC + 6 * kC * kC + causal);
  check_reports(c, measure_layer(mha));
  AttentionConfig bidirectional = tiny_config().attention;
  bidirectional.mask = AttentionMask::kBidirectional;
  CHECK(SelfAttention("attn", bidirectional).cost(f32_query()).flops ==
        6 * kC * 3 * kC + 6 * kC * kC + 2 * causal);

  // GQA (2 groups of 4-wide heads), q/k RMSNorm and RoPE.
  SelfAttention gqa("attn", tiny_config(llama_shaped()).attention);
  const ModuleCost q = gqa.cost(f32_query());
  const double kv = kC / 2;  // 2 groups x 4 channels
  // qkv input, q k v, out, lse, and the q and k norms' inputs and rstd per head or group.
  CHECK(q.saved == (kC + (kC + 2 * kv) + kC + (kC + kv)) * 4 + (kHeads + kHeads + 2) * 4);
  CHECK(q.flops == 6 * kC * (kC + 2 * kv) + 6 * kC * kC + causal);
  check_reports(q, measure_layer(gqa, true));
}

TEST_CASE("transformer layers sum their branches, checkpointed or not, pre- and post-LN") {
  const auto check_block = [](const LayerConfig& config, bool positions) {
    TransformerLayer layer("layer", config);
    check_reports(layer.cost(f32_query()), measure_layer(layer, positions));
  };
  LayerConfig c = tiny_config();
  SUBCASE("standard") { check_block(c, false); }
  SUBCASE("hidden dropout") {
    c.block.hidden_dropout = 0.1;
    check_block(c, false);
  }
  SUBCASE("selective recompute") {
    c.block.selective_recompute = true;
    check_block(c, false);
  }
  SUBCASE("attention alone") {
    c.block.mlp.clear();
    check_block(c, false);
  }
  SUBCASE("mlp alone") {
    c.block.self_attention.clear();
    check_block(c, false);
  }
  SUBCASE("post-LN") {
    c.block.post_norm = true;
    check_block(c, false);
  }
  SUBCASE("post-LN with dropout") {
    c.block.post_norm = true;
    c.block.hidden_dropout = 0.1;
    check_block(c, false);
  }
  SUBCASE("llama shaped, attention alone") {
    c = tiny_config(llama_shaped());
    c.block.mlp.clear();
    check_block(c, true);
  }
  SUBCASE("llama shaped, post-LN with dropout") {
    c = tiny_config(llama_shaped());
    c.block.post_norm = true;
    c.block.hidden_dropout = 0.1;
    check_block(c, true);
  }
}

TEST_CASE("a block's FLOPs are its branches' and its saved bytes the sum of its slots'") {
  const LayerConfig c = tiny_config();
  const ModuleCost attention = SelfAttention("a", c.attention).cost(f32_query());
  const ModuleCost mlp = Mlp("m", c.mlp).cost(f32_query());
  const ModuleCost norm = LayerNorm("n", c.norm).cost(f32_query());
  const ModuleCost whole = TransformerLayer("l", c).cost(f32_query());
  CHECK(whole.flops == attention.flops + mlp.flops);
  CHECK(whole.saved == 2 * norm.saved + attention.saved + mlp.saved);
  LayerConfig attention_only = c;
  attention_only.block.mlp.clear();
  const ModuleCost a = TransformerLayer("l", attention_only).cost(f32_query());
  CHECK(a.flops == attention.flops);
  CHECK(a.saved == norm.saved + attention.saved);
  // Selective recompute keeps the attention branch's input (C) in place of its saved tensors.
  LayerConfig selective = c;
  selective.block.selective_recompute = true;
  CHECK(TransformerLayer("l", selective).cost(f32_query()).saved ==
        whole.saved - attention.saved + kC * 4);
}

TEST_CASE("recomputed spans keep their input and re-run their forward in backward") {
  const LayerConfig c = tiny_config();
  std::vector<std::unique_ptr<TransformerLayer>> owned;
  std::vector<Layer*> layers;
  for (int i = 0; i < 3; ++i) {
    owned.push_back(std::make_unique<TransformerLayer>("layer." + std::to_string(i), c));
    layers.push_back(owned.back().get());
    test::bind_standalone(owned.back()->parameters(), DType::kF32, 5 + i);
  }
  const ModuleCost layer = owned[0]->cost(f32_query());
  for (const FullRecompute& recompute :
       {FullRecompute{}, FullRecompute{"uniform", 2}, FullRecompute{"block", 1}}) {
    CAPTURE(recompute.method);
    RecomputedLayers run(recompute, layers);
    const Measured m = measure(
        [&](MicroBatchContext& ctx) {
          return run.forward(test::random_tensor({kB, kT, kC}, DType::kF32, 3), ctx);
        },
        [&](const Tensor& dy, MicroBatchContext& ctx) { run.backward(dy, ctx); });
    const ModuleCost cost = run.cost(f32_query());
    check_reports(cost, m);
    if (recompute.method == "uniform") CHECK(cost.saved == 2 * kC * 4);  // two span inputs
    if (recompute.method.empty()) CHECK(cost.saved == 3 * layer.saved);
    CHECK(cost.flops == 3 * layer.flops);
  }
}

TEST_CASE("the embedding and the head keep what they allocate; the batch's views are not theirs") {
  const Recipe recipe = test::tiny_gpt_recipe();
  constexpr int64_t kVocab = 64;
  const double i32 = 4;
  std::vector<int32_t> ids(kB * kT), pos(kB * kT);
  for (int64_t i = 0; i < kB * kT; ++i) {
    ids[static_cast<size_t>(i)] = static_cast<int32_t>(i * 7 % kVocab);
    pos[static_cast<size_t>(i)] = static_cast<int32_t>(i % kT);
  }
  const Tensor tokens = Tensor::from_vector(ids, {kB, kT});
  const Tensor positions = Tensor::from_vector(pos, {kB, kT});

  LanguageModelEmbedding embedding("embedding", embedding_config(recipe, kVocab));
  test::bind_standalone(embedding.parameters(), DType::kF32, 5);
  const Measured e =
      measure([&](MicroBatchContext& ctx) { return embedding.forward(tokens, positions, ctx); },
              [&](const Tensor& dy, MicroBatchContext& ctx) { embedding.backward(dy, ctx); });
  const ModuleCost ec = embedding.cost(f32_query());
  CHECK(ec.saved == 0);
  CHECK(e.saved == ec.saved + 2 * i32);  // views of the batch's tokens and positions
  CHECK(e.backward == ec.backward);
  CHECK(ec.backward == kC * 4);

  Parameter& tied = embedding.word_embeddings();
  LanguageModelHead head("output_layer", lm_head_config(recipe, kVocab), &tied);
  const Tensor mask = Tensor::from_vector(std::vector<float>(kB * kT, 1.0f), {kB, kT});
  const Measured h = measure(
      [&](MicroBatchContext& ctx) {
        head.forward(test::random_tensor({kB, kT, kC}, DType::kF32, 3), tokens, mask, ctx);
        ctx.set_loss_grad("lm loss", 1.0);
        return Tensor();
      },
      [&](const Tensor&, MicroBatchContext& ctx) { head.backward(ctx); });
  const ModuleCost hc = head.cost(f32_query());
  // Hidden C, logits V, f32 lse, f64 mask on the host.
  CHECK(hc.saved == kC * 4 + kVocab * 4 + 4 + 8);
  CHECK(h.saved == hc.saved + i32);  // a view of the batch's labels
  CHECK(hc.backward == 8 + 4 + kC * 4);
  CHECK(h.backward == hc.backward);
  CHECK(hc.flops == 6 * kVocab * kC);
}

TEST_CASE("tensor parallelism shards the reports and counts the collectives") {
  // Sizes only: the modules are built under a group of 2 without communicators.
  const TensorParallel tp{0, 2, nullptr, nullptr, false};
  const TensorParallel sp{0, 2, nullptr, nullptr, true};
  const LayerConfig c = tiny_config();
  const double row = kC * 4;  // one hidden row in f32
  {
    TensorParallelScope scope(tp);
    const ModuleCost layer = TransformerLayer("l", c).cost(f32_query());
    // Two norms (input and statistics), the qkv and fc1 inputs whole; q k v, out, lse, fc1 output
    // and fc2 input halved.
    CHECK(layer.saved == 2 * (row + 8) + 2 * row + (4 * row + kHeads * 4 + 2 * kF * 4) / 2);
    // Four all-reduces of a hidden row, each sending 2 (tp - 1) / tp of it.
    CHECK(layer.tensor_parallel_bytes == 4 * row);
  }
  {
    TensorParallelScope scope(sp);
    const ModuleCost layer =
        TransformerLayer("l", c).cost(f32_query().with_rows(0.5));  // this rank's token rows
    CHECK(layer.saved == (2 * (row + 8) + 2 * row) / 2 + (4 * row + kHeads * 4 + 2 * kF * 4) / 2);
    // Per column-parallel linear a gather forward, a gather and a reduce-scatter backward; per
    // row-parallel a reduce-scatter forward and a gather backward: 10 x (tp - 1) / tp of a row.
    CHECK(layer.tensor_parallel_bytes == 10 * row / 2);
    // The MLP branch's peak, fc2's backward: dy's rows, dy gathered, dx (F / 2) and the host
    // GeLU temporary (F / 2).
    const double mlp_peak = row / 2 + row + kF * 4;
    // At these widths (F < 4 C) the attention branch's is higher: in linear_qkv's backward the
    // layer's dy and the stream's gradient (linear_proj's dy), dout (row / 2 each), dq dk dv and
    // dqkv (3 row / 2 each), the gathered input, dx and its reduce-scattered rows (row, row,
    // row / 2), less the MLP branch's saved tensors.
    const double mlp_saved = (row + 8) / 2 + row / 2 + kF * 4;
    const double attention_peak = 3 * row / 2 + 3 * row + 2 * row + row / 2 - mlp_saved;
    CHECK(attention_peak > mlp_peak);
    CHECK(layer.backward == attention_peak);
  }
  // One rank's FLOPs are half the layer's.
  const TensorParallel single;
  const double whole = [&] {
    TensorParallelScope scope(single);
    return TransformerLayer("l", c).cost(f32_query()).flops;
  }();
  TensorParallelScope scope(tp);
  CHECK(2 * TransformerLayer("l", c).cost(f32_query()).flops == whole);
}

}  // namespace
}  // namespace me
