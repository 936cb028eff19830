// InferenceState and its per-layer states: row bookkeeping and its errors; a KV cache that never
// takes padding; self-attention prefilled with per-row lengths against each row's full forward;
// a toy recurrent mixer (Mamba's conv and SSM state shapes) and a toy cross-attention layer
// against closed-form f64 references, each run batched with padding after the rows' tokens.
#include "engine/nn/inference_state.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/models/transformer_config.h"
#include "engine/nn/cross_attention_cache.h"
#include "engine/nn/dropout.h"
#include "engine/nn/kv_cache.h"
#include "engine/nn/recurrent_state.h"
#include "engine/nn/self_attention.h"
#include "kernels/attention.h"
#include "tests/support/grad_check.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

// One step of `layer` over x (B, Tn, C) whose row b has step_lengths[b] real tokens.
Tensor run_step(Layer& layer, InferenceState& state, const Tensor& x,
                std::vector<int64_t> step_lengths) {
  const int64_t b = x.dim(0), t = x.dim(1);
  state.begin_step(std::move(step_lengths), t);
  MicroBatchContext ctx(false, 0, 0, 0);
  SequenceInfo sequence{Tensor::from_vector(state.step_positions(), {b, t})};
  sequence.inference_state = &state;
  ctx.set_sequence(std::move(sequence));
  Tensor y = layer.forward(x, ctx);
  state.end_step();
  return y;
}

// Rows of a (B, T, C) f64 tensor: row b's tokens [from, from + n).
std::vector<double> tokens_of(const Tensor& x, int64_t b, int64_t from, int64_t n) {
  const int64_t t = x.dim(1), c = x.dim(2);
  const double* p = x.data<double>() + (b * t + from) * c;
  return {p, p + n * c};
}

// (B, T, C) f64 from each row's tokens, padded with `pad` to the longest row.
Tensor padded_batch(const std::vector<std::vector<double>>& rows, int64_t c, double pad) {
  size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size());
  std::vector<double> values;
  for (const auto& r : rows) {
    values.insert(values.end(), r.begin(), r.end());
    values.insert(values.end(), longest - r.size(), pad);
  }
  return Tensor::from_vector(
      values, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(longest) / c, c});
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
}

TEST_CASE("an inference state keeps one state per layer and advances rows by their step lengths") {
  Dropout first("first", 0.0), second("second", 0.0);
  InferenceState state(2, 5);
  int made = 0;
  auto make = [&] {
    ++made;
    return KvCache(2, 5, 1, 1, DType::kF32, Device::cpu());
  };
  KvCache& a = state.layer<KvCache>(first, make);
  CHECK(&state.layer<KvCache>(first, make) == &a);
  CHECK(&state.layer<KvCache>(second, make) != &a);
  CHECK(made == 2);
  auto recurrent = [] { return RecurrentState(2, {4, 3, 1, 4, 2}, DType::kF32, Device::cpu()); };
  CHECK_THROWS_WITH_AS(state.layer<RecurrentState>(first, recurrent),
                       doctest::Contains("another type"), InternalError);
  CHECK(state.empty());
  state.begin_step({3, 0}, 3);
  CHECK(state.step_positions() == std::vector<int32_t>{0, 1, 2, 0, 0, 0});
  state.end_step();
  CHECK_FALSE(state.empty());
  state.begin_step({1, 2}, 2);
  CHECK(state.step_positions() == std::vector<int32_t>{3, 0, 0, 1});
  state.end_step();
  CHECK(state.lengths() == std::vector<int64_t>{4, 2});
  CHECK_THROWS_WITH_AS(state.begin_step({2, 0}, 2),
                       doctest::Contains("row 0 would hold 6 tokens; the state holds 5"), Error);
  CHECK_THROWS_WITH_AS(state.begin_step({0, 3}, 2), doctest::Contains("row 1 has 3 real tokens"),
                       Error);
  CHECK_THROWS_WITH_AS(state.begin_step({1}, 1), doctest::Contains("step_lengths"), Error);
  CHECK_THROWS_WITH_AS(InferenceState(0, 4), doctest::Contains("batch"), Error);
  CHECK_THROWS_WITH_AS(InferenceState(1, 0), doctest::Contains("capacity"), Error);
}

TEST_CASE("a KV cache appends each row's real tokens at its own length and never the padding") {
  InferenceState state(2, 4);
  KvCache cache(2, 4, 1, 1, DType::kF32, Device::cpu());
  state.begin_step({2, 1}, 2);  // row 1's second token is padding
  cache.append(Tensor::from_vector<float>({1, 2, 3, 9}, {2, 2, 1, 1}),
               Tensor::from_vector<float>({5, 6, 7, 9}, {2, 2, 1, 1}), state);
  state.end_step();
  state.begin_step({0, 1}, 1);  // row 0 is done: a step of zero tokens
  cache.append(Tensor::from_vector<float>({9, 4}, {2, 1, 1, 1}),
               Tensor::from_vector<float>({9, 8}, {2, 1, 1, 1}), state);
  state.end_step();
  CHECK(cache.keys().to_vector<float>() == std::vector<float>{1, 2, 0, 0, 3, 4, 0, 0});
  CHECK(cache.values().to_vector<float>() == std::vector<float>{5, 6, 0, 0, 7, 8, 0, 0});
}

TEST_CASE("self-attention prefilled with per-row lengths equals each row's full forward") {
  test::TinyGpt tiny;  // Llama-shaped: RoPE (positions per row) and GQA
  tiny.num_query_groups = 2;
  tiny.position_embedding_type = "rope";
  tiny.add_bias_linear = false;
  const int64_t c = tiny.hidden_size;
  SelfAttention attn("attn", layer_config(test::tiny_gpt_recipe(tiny)).attention);
  test::bind_standalone(attn.parameters(), DType::kF64, 3);
  test::randomize_values(attn.parameters(), 0.3, 3);
  // Whole sequences of 5, 2 and 4 tokens: prompts of 4, 1 and 3, then one token each except
  // the last row, which is done (a step of zero tokens) and has 3 real tokens.
  const Tensor whole = test::random_tensor({3, 5, c}, DType::kF64, 4);
  const std::vector<int64_t> prompt = {4, 1, 3}, total = {5, 2, 3};
  std::vector<std::vector<double>> prompts, next;
  for (int64_t b = 0; b < 3; ++b) {
    prompts.push_back(tokens_of(whole, b, 0, prompt[b]));
    next.push_back(tokens_of(whole, b, prompt[b], total[b] - prompt[b]));
  }
  InferenceState state(3, 6);
  const Tensor prefill = run_step(attn, state, padded_batch(prompts, c, 7.0), {4, 1, 3});
  const Tensor step = run_step(attn, state, padded_batch(next, c, 7.0), {1, 1, 0});
  CHECK(state.lengths() == total);
  for (int64_t b = 0; b < 3; ++b) {
    INFO("row " << b);
    MicroBatchContext ctx(false, 0, 0, 0);
    std::vector<int32_t> positions(static_cast<size_t>(total[b]));
    for (int64_t i = 0; i < total[b]; ++i) positions[i] = static_cast<int32_t>(i);
    ctx.set_sequence({Tensor::from_vector(positions, {1, total[b]})});
    const Tensor row = Tensor::from_vector(tokens_of(whole, b, 0, total[b]), {1, total[b], c});
    const Tensor want = attn.forward(row, ctx);
    std::vector<double> got = tokens_of(prefill, b, 0, prompt[b]);
    const std::vector<double> stepped = tokens_of(step, b, 0, total[b] - prompt[b]);
    got.insert(got.end(), stepped.begin(), stepped.end());
    check_close(got, want.to_vector<double>(), 1e-12);
  }
  // Only real tokens reached the cache: each row's positions from its length on are zero.
  const KvCache& cache = state.layer<KvCache>(
      attn, []() -> KvCache { throw InternalError("the layer made no cache"); });
  const int64_t per_position = cache.keys().numel() / (3 * 6);
  const std::vector<double> keys = cache.keys().to_vector<double>();
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t p = 0; p < 6; ++p) {
      const double* k = keys.data() + (b * 6 + p) * per_position;
      const bool written = std::any_of(k, k + per_position, [](double v) { return v != 0.0; });
      CHECK_MESSAGE(written == (p < total[b]), "row ", b, " position ", p);
    }
  }
}

// A toy recurrent mixer with Mamba's decode-state shapes: per channel, u = a causal conv of width
// W over the inputs (the conv state holds the last W), then N diagonal recurrences
// h_n <- decay_n h_n + u, and y = sum_n h_n. Each row steps over its real tokens only.
class ToyRecurrentMixer final : public Layer {
 public:
  static constexpr int64_t kWidth = 3, kStates = 2;
  static constexpr double kConv[kWidth] = {0.25, -0.5, 1.0};  // oldest input first
  static constexpr double kDecay[kStates] = {0.5, 0.9};

  explicit ToyRecurrentMixer(int64_t channels) : Layer("toy_mixer"), channels_(channels) {}

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override {
    InferenceState& state = *ctx.sequence().inference_state;
    RecurrentState& rs = state.layer<RecurrentState>(*this, [&] {
      return RecurrentState(state.batch(), {channels_, kWidth, 1, channels_, kStates}, DType::kF64,
                            Device::cpu());
    });
    const int64_t t = x.dim(1), c = channels_;
    Tensor y = Tensor::zeros(x.shape(), DType::kF64);
    for (int64_t b = 0; b < state.batch(); ++b) {
      for (int64_t i = 0; i < state.step_lengths()[b]; ++i) {
        for (int64_t ch = 0; ch < c; ++ch) {
          double* window = rs.conv().data<double>() + (b * c + ch) * kWidth;
          std::copy(window + 1, window + kWidth, window);
          window[kWidth - 1] = x.data<double>()[(b * t + i) * c + ch];
          double u = 0.0;
          for (int64_t k = 0; k < kWidth; ++k) u += kConv[k] * window[k];
          double* h = rs.ssm().data<double>() + (b * c + ch) * kStates;
          double out = 0.0;
          for (int64_t n = 0; n < kStates; ++n) out += h[n] = kDecay[n] * h[n] + u;
          y.data<double>()[(b * t + i) * c + ch] = out;
        }
      }
    }
    return y;
  }
  Tensor backward(const Tensor&, MicroBatchContext&) override {
    throw Error("inference only", name());
  }
  ModuleCost cost(const CostQuery&) const override { return {}; }  // inference only

 private:
  int64_t channels_;
};

// The mixer in closed form over one whole sequence x (T, C): u_s = sum_k conv_k x_{s-W+1+k},
// y_t = sum_n sum_{s<=t} decay_n^(t-s) u_s.
std::vector<double> toy_mixer_reference(const std::vector<double>& x, int64_t c) {
  using M = ToyRecurrentMixer;
  const int64_t t = static_cast<int64_t>(x.size()) / c;
  std::vector<double> y(x.size(), 0.0);
  for (int64_t ch = 0; ch < c; ++ch) {
    auto u = [&](int64_t s) {
      double sum = 0.0;
      for (int64_t k = 0; k < M::kWidth; ++k) {
        const int64_t at = s - M::kWidth + 1 + k;
        if (at >= 0) sum += M::kConv[k] * x[at * c + ch];
      }
      return sum;
    };
    for (int64_t ti = 0; ti < t; ++ti) {
      for (int64_t s = 0; s <= ti; ++s) {
        for (int64_t n = 0; n < M::kStates; ++n) {
          y[ti * c + ch] += std::pow(M::kDecay[n], static_cast<double>(ti - s)) * u(s);
        }
      }
    }
  }
  return y;
}

TEST_CASE("a recurrent state prefilled with per-row lengths takes in no padding") {
  const int64_t c = 3;
  const std::vector<int64_t> prompt = {1, 4, 7, 2};
  const Tensor whole = test::random_tensor({4, 9, c}, DType::kF64, 5);
  std::vector<std::vector<double>> prompts;
  for (int64_t b = 0; b < 4; ++b) prompts.push_back(tokens_of(whole, b, 0, prompt[b]));
  // Prefill, then two steps of one token per row (the last row stops after one).
  auto run = [&](bool lengths_known) {
    ToyRecurrentMixer mixer(c);
    InferenceState state(4, 10);
    const Tensor x = padded_batch(prompts, c, 100.0);
    const std::vector<int64_t> real = lengths_known ? prompt : std::vector<int64_t>(4, 7);
    std::vector<std::vector<double>> out(4);
    const Tensor prefill = run_step(mixer, state, x, real);
    for (int64_t b = 0; b < 4; ++b) out[b] = tokens_of(prefill, b, 0, prompt[b]);
    for (int64_t s = 0; s < 2; ++s) {
      std::vector<std::vector<double>> next;
      for (int64_t b = 0; b < 4; ++b) next.push_back(tokens_of(whole, b, prompt[b] + s, 1));
      const std::vector<int64_t> one = {1, 1, 1, s == 0 ? 1 : 0};
      const Tensor y = run_step(mixer, state, padded_batch(next, c, 0.0), one);
      for (int64_t b = 0; b < 4; ++b) {
        if (one[b] == 0) continue;
        const auto token = tokens_of(y, b, 0, 1);
        out[b].insert(out[b].end(), token.begin(), token.end());
      }
    }
    return out;
  };
  const auto batched = run(true);
  for (int64_t b = 0; b < 4; ++b) {
    INFO("row " << b);
    const int64_t n = prompt[b] + (b == 3 ? 1 : 2);
    check_close(batched[b], toy_mixer_reference(tokens_of(whole, b, 0, n), c), 1e-12);
  }
  // Right padding taken in as tokens (the old prefill) corrupts every shorter row's state.
  const auto right_padded = run(false);
  CHECK(right_padded[0].back() != doctest::Approx(batched[0].back()));
  CHECK(right_padded[2].back() == doctest::Approx(batched[2].back()).epsilon(1e-12));
}

// A toy one-head cross-attention layer: queries are the inputs, keys 0.5 m and values m + 1 of
// the memory m, projected once per batch into a CrossAttentionCache (counted), then every step
// attends over each row's real memory positions.
class ToyCrossAttention final : public Layer {
 public:
  ToyCrossAttention() : Layer("toy_cross_attention") {}
  int projections = 0;

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override {
    InferenceState& state = *ctx.sequence().inference_state;
    const CrossAttentionCache& cache = state.layer<CrossAttentionCache>(*this, [&] {
      ++projections;
      const Tensor& m = state.memory();
      const Shape heads = {m.dim(0), m.dim(1), 1, m.dim(2)};
      std::vector<double> keys = m.to_vector<double>(), values = keys;
      for (double& k : keys) k *= 0.5;
      for (double& v : values) v += 1.0;
      return CrossAttentionCache(Tensor::from_vector(keys, heads),
                                 Tensor::from_vector(values, heads), state.memory_lengths());
    });
    const int64_t b = x.dim(0), t = x.dim(1), c = x.dim(2);
    Tensor out = Tensor::empty({b, t, 1, c}, DType::kF64);
    Tensor lse = Tensor::empty({b, 1, t}, DType::kF64);
    AttentionParams params;
    params.scale = 1.0 / std::sqrt(static_cast<double>(c));
    params.mask = AttentionMask::kBidirectional;
    params.kv_lengths = cache.memory_lengths();
    attention_forward(x.reshape({b, t, 1, c}), cache.keys(), cache.values(), out, lse, params);
    return out.reshape(x.shape());
  }
  Tensor backward(const Tensor&, MicroBatchContext&) override {
    throw Error("inference only", name());
  }
  ModuleCost cost(const CostQuery&) const override { return {}; }  // inference only
};

// Query q (C) against memory rows m (Tm, C) of which the first n are real.
std::vector<double> toy_cross_reference(const std::vector<double>& q, const std::vector<double>& m,
                                        int64_t n) {
  const size_t c = q.size();
  std::vector<double> scores(static_cast<size_t>(n));
  double top = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    double dot = 0.0;
    for (size_t x = 0; x < c; ++x) dot += q[x] * 0.5 * m[j * c + x];
    scores[j] = dot / std::sqrt(static_cast<double>(c));
    top = std::max(top, scores[j]);
  }
  double total = 0.0;
  for (double& s : scores) total += s = std::exp(s - top);
  std::vector<double> out(c, 0.0);
  for (int64_t j = 0; j < n; ++j) {
    for (size_t x = 0; x < c; ++x) out[x] += scores[j] / total * (m[j * c + x] + 1.0);
  }
  return out;
}

TEST_CASE("a cross-attention cache is computed once and reads only each row's real memory") {
  const int64_t c = 4, tm = 5;
  const std::vector<int32_t> memory_lengths = {5, 2, 3};
  const Tensor queries = test::random_tensor({3, 7, c}, DType::kF64, 6);  // 3 past any length
  const Tensor memory = test::random_tensor({3, tm, c}, DType::kF64, 7);
  // Steps: a prefill of 2, 1 and 3 tokens, then one token per row, then rows 0 and 2 only.
  const std::vector<std::vector<int64_t>> steps = {{2, 1, 3}, {1, 1, 1}, {1, 0, 1}};
  auto run = [&](const Tensor& memory_stream, ToyCrossAttention& layer) {
    InferenceState state(3, 5);
    state.set_memory(memory_stream, Tensor::from_vector(memory_lengths, {3}));
    std::vector<std::vector<double>> out(3);
    for (const auto& step : steps) {
      std::vector<std::vector<double>> rows;
      for (int64_t b = 0; b < 3; ++b) rows.push_back(tokens_of(queries, b, state.lengths()[b], 3));
      const Tensor y = run_step(layer, state, padded_batch(rows, c, 0.0), step);
      for (int64_t b = 0; b < 3; ++b) {
        const auto real = tokens_of(y, b, 0, step[b]);
        out[b].insert(out[b].end(), real.begin(), real.end());
      }
    }
    return out;
  };
  ToyCrossAttention layer;
  const auto got = run(memory, layer);
  CHECK(layer.projections == 1);
  for (int64_t b = 0; b < 3; ++b) {
    INFO("row " << b);
    const int64_t n = static_cast<int64_t>(got[b].size()) / c;
    std::vector<double> want;
    for (int64_t i = 0; i < n; ++i) {
      const auto q = toy_cross_reference(tokens_of(queries, b, i, 1), tokens_of(memory, b, 0, tm),
                                         memory_lengths[b]);
      want.insert(want.end(), q.begin(), q.end());
    }
    check_close(got[b], want, 1e-12);
  }
  // Memory past a row's length is padding: changing it changes nothing.
  std::vector<double> other = memory.to_vector<double>();
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t j = memory_lengths[b]; j < tm; ++j) {
      for (int64_t x = 0; x < c; ++x) other[(b * tm + j) * c + x] = 50.0;
    }
  }
  ToyCrossAttention again;
  CHECK(run(Tensor::from_vector(other, memory.shape()), again) == got);
}

}  // namespace
}  // namespace me
