// GPT2LMHeadModel <-> our `gpt` model. HF's Conv1D weights are (in, out), ours (out, in); c_attn's
// rows are [q | k | v] over all heads, Megatron's fused QKV groups them per head [q_h | k_h | v_h].
#include <fmt/format.h>

#include "engine/checkpoint/hf_architecture.h"

namespace me {
namespace {

struct Gpt2Shape {
  int64_t layers, hidden, heads, head_dim, ffn, positions;
};

Gpt2Shape shape_of(const Recipe& r) {
  return {r.model.num_layers,    r.model.hidden_size,       r.model.num_attention_heads,
          r.derived.kv_channels, r.derived.ffn_hidden_size, r.model.max_position_embeddings};
}

void require_setting(const nlohmann::json& config, const std::string& key,
                     const nlohmann::json& supported, const nlohmann::json& fallback,
                     const std::string& where) {
  const auto it = config.find(key);
  const nlohmann::json value = it == config.end() || it->is_null() ? fallback : *it;
  if (value != supported && !(supported.is_array() && std::find(supported.begin(), supported.end(),
                                                                value) != supported.end())) {
    throw Error(fmt::format("GPT-2 setting {} = {} is not supported (supported: {})", key,
                            value.dump(), supported.dump()),
                where);
  }
}

class Gpt2Architecture final : public HfArchitecture {
 public:
  std::string model_yaml(const nlohmann::json& c, const std::string& where) const override {
    // gelu_new and gelu_pytorch_tanh are both the tanh approximation our GeLU computes.
    require_setting(c, "activation_function", {"gelu_new", "gelu_pytorch_tanh"}, "gelu_new", where);
    require_setting(c, "scale_attn_weights", true, true, where);
    require_setting(c, "scale_attn_by_inverse_layer_idx", false, false, where);
    require_setting(c, "add_cross_attention", false, false, where);
    const int64_t hidden = hf_config_value(c, "n_embd", where).get<int64_t>();
    const int64_t positions = hf_config_value(c, "n_positions", where).get<int64_t>();
    return fmt::format(
        "  type: gpt\n  num_layers: {}\n  hidden_size: {}\n  ffn_hidden_size: {}\n"
        "  num_attention_heads: {}\n  seq_length: {}\n  max_position_embeddings: {}\n"
        "  position_embedding_type: learned_absolute\n  normalization: LayerNorm\n"
        "  layernorm_epsilon: {}\n  untie_embeddings_and_output_weights: {}\n"
        "  add_bias_linear: true\n  hidden_dropout: {}\n  attention_dropout: {}\n"
        "  init_method_std: {}\n",
        hf_config_value(c, "n_layer", where).get<int64_t>(), hidden,
        hf_config_or<int64_t>(c, "n_inner", 4 * hidden),
        hf_config_value(c, "n_head", where).get<int64_t>(), positions, positions,
        hf_config_or<double>(c, "layer_norm_epsilon", 1e-5),
        !hf_config_or<bool>(c, "tie_word_embeddings", true),
        hf_config_or<double>(c, "resid_pdrop", 0.1), hf_config_or<double>(c, "attn_pdrop", 0.1),
        hf_config_or<double>(c, "initializer_range", 0.02));
  }

  bool matches(const Recipe& r) const override {
    const auto& m = r.model;
    return m.position_embedding_type == "learned_absolute" && m.normalization == "LayerNorm" &&
           m.add_bias_linear && !m.swiglu && !m.qk_layernorm &&
           r.derived.num_query_groups == m.num_attention_heads &&
           r.derived.kv_channels * m.num_attention_heads == m.hidden_size;
  }

  nlohmann::json config(const Recipe& r, int64_t vocab_size) const override {
    const Gpt2Shape s = shape_of(r);
    return {{"architectures", {"GPT2LMHeadModel"}},
            {"model_type", "gpt2"},
            {"vocab_size", vocab_size},
            {"n_positions", s.positions},
            {"n_embd", s.hidden},
            {"n_layer", s.layers},
            {"n_head", s.heads},
            {"n_inner", s.ffn},
            {"activation_function", "gelu_new"},
            {"layer_norm_epsilon", r.model.layernorm_epsilon},
            {"resid_pdrop", r.model.hidden_dropout},
            {"embd_pdrop", r.model.hidden_dropout},
            {"attn_pdrop", r.model.attention_dropout},
            {"initializer_range", r.model.init_method_std},
            {"scale_attn_weights", true},
            {"scale_attn_by_inverse_layer_idx", false},
            {"tie_word_embeddings", !r.model.untie_embeddings_and_output_weights}};
  }

  void to_ours(HfTensorSource& src, const Recipe& r, int64_t vocab,
               const HfTensorSink& put) const override {
    const Gpt2Shape s = shape_of(r);
    // The hub's original gpt2 weights (saved from GPT2Model) have no "transformer." prefix.
    const std::string p = src.contains("transformer.wte.weight") ? "transformer." : "";
    put("embedding.word_embeddings.weight", src.take(p + "wte.weight", {vocab, s.hidden}));
    put("embedding.position_embeddings.weight",
        src.take(p + "wpe.weight", {s.positions, s.hidden}));
    const int64_t qkv = 3 * s.heads * s.head_dim;
    for (int64_t i = 0; i < s.layers; ++i) {
      const std::string hf = fmt::format("{}h.{}.", p, i);
      const std::string me = fmt::format("decoder.layers.{}.", i);
      for (const char* buffer : {"attn.bias", "attn.masked_bias"}) src.ignore(hf + buffer);
      put(me + "input_layernorm.weight", src.take(hf + "ln_1.weight", {s.hidden}));
      put(me + "input_layernorm.bias", src.take(hf + "ln_1.bias", {s.hidden}));
      const Tensor w = transpose_2d(src.take(hf + "attn.c_attn.weight", {s.hidden, qkv}));
      const Tensor b = src.take(hf + "attn.c_attn.bias", {qkv});
      put(me + "self_attention.linear_qkv.weight", regroup(w, s));
      put(me + "self_attention.linear_qkv.bias", regroup(b, s));
      put(me + "self_attention.linear_proj.weight",
          transpose_2d(src.take(hf + "attn.c_proj.weight", {s.heads * s.head_dim, s.hidden})));
      put(me + "self_attention.linear_proj.bias", src.take(hf + "attn.c_proj.bias", {s.hidden}));
      put(me + "pre_mlp_layernorm.weight", src.take(hf + "ln_2.weight", {s.hidden}));
      put(me + "pre_mlp_layernorm.bias", src.take(hf + "ln_2.bias", {s.hidden}));
      put(me + "mlp.linear_fc1.weight",
          transpose_2d(src.take(hf + "mlp.c_fc.weight", {s.hidden, s.ffn})));
      put(me + "mlp.linear_fc1.bias", src.take(hf + "mlp.c_fc.bias", {s.ffn}));
      put(me + "mlp.linear_fc2.weight",
          transpose_2d(src.take(hf + "mlp.c_proj.weight", {s.ffn, s.hidden})));
      put(me + "mlp.linear_fc2.bias", src.take(hf + "mlp.c_proj.bias", {s.hidden}));
    }
    put("decoder.final_layernorm.weight", src.take(p + "ln_f.weight", {s.hidden}));
    put("decoder.final_layernorm.bias", src.take(p + "ln_f.bias", {s.hidden}));
    if (r.model.untie_embeddings_and_output_weights) {
      put("output_layer.weight", src.take("lm_head.weight", {vocab, s.hidden}));
    } else {
      src.ignore("lm_head.weight");  // tied: a copy of wte when present
    }
  }

  std::map<std::string, Tensor> to_hf(const std::map<std::string, Tensor>& ours, const Recipe& r,
                                      int64_t vocab) const override {
    const Gpt2Shape s = shape_of(r);
    auto get = [&](const std::string& name) -> const Tensor& { return ours.at(name); };
    std::map<std::string, Tensor> out;
    out["transformer.wte.weight"] = slice_rows(get("embedding.word_embeddings.weight"), 0, vocab);
    out["transformer.wpe.weight"] = get("embedding.position_embeddings.weight");
    for (int64_t i = 0; i < s.layers; ++i) {
      const std::string hf = fmt::format("transformer.h.{}.", i);
      const std::string me = fmt::format("decoder.layers.{}.", i);
      out[hf + "ln_1.weight"] = get(me + "input_layernorm.weight");
      out[hf + "ln_1.bias"] = get(me + "input_layernorm.bias");
      out[hf + "attn.c_attn.weight"] =
          transpose_2d(ungroup(get(me + "self_attention.linear_qkv.weight"), s));
      out[hf + "attn.c_attn.bias"] = ungroup(get(me + "self_attention.linear_qkv.bias"), s);
      out[hf + "attn.c_proj.weight"] = transpose_2d(get(me + "self_attention.linear_proj.weight"));
      out[hf + "attn.c_proj.bias"] = get(me + "self_attention.linear_proj.bias");
      out[hf + "ln_2.weight"] = get(me + "pre_mlp_layernorm.weight");
      out[hf + "ln_2.bias"] = get(me + "pre_mlp_layernorm.bias");
      out[hf + "mlp.c_fc.weight"] = transpose_2d(get(me + "mlp.linear_fc1.weight"));
      out[hf + "mlp.c_fc.bias"] = get(me + "mlp.linear_fc1.bias");
      out[hf + "mlp.c_proj.weight"] = transpose_2d(get(me + "mlp.linear_fc2.weight"));
      out[hf + "mlp.c_proj.bias"] = get(me + "mlp.linear_fc2.bias");
    }
    out["transformer.ln_f.weight"] = get("decoder.final_layernorm.weight");
    out["transformer.ln_f.bias"] = get("decoder.final_layernorm.bias");
    if (r.model.untie_embeddings_and_output_weights) {
      out["lm_head.weight"] = slice_rows(get("output_layer.weight"), 0, vocab);
    }
    return out;
  }

 private:
  // [q | k | v] rows (each heads * head_dim) <-> Megatron's per-head groups.
  static Tensor regroup(const Tensor& t, const Gpt2Shape& s) {
    const int64_t n = s.heads * s.head_dim;
    return group_qkv(slice_rows(t, 0, n), slice_rows(t, n, 2 * n), slice_rows(t, 2 * n, 3 * n),
                     s.heads, s.heads, s.head_dim);
  }
  static Tensor ungroup(const Tensor& t, const Gpt2Shape& s) {
    const QkvParts parts = ungroup_qkv(t, s.heads, s.heads, s.head_dim);
    return concat_rows({parts.q, parts.k, parts.v});
  }
};

}  // namespace

ME_REGISTER(HfArchitectureRegistry, "GPT2LMHeadModel", Gpt2Architecture);

}  // namespace me
