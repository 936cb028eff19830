// LlamaForCausalLM and Qwen2ForCausalLM (Llama plus q/k/v biases) <-> our `gpt` model configured
// as Llama (RoPE, RMSNorm, SwiGLU, GQA, no other linear biases). q/k/v_proj fuse into linear_qkv
// per query group, gate/up into linear_fc1 as [gate | up].
#include <fmt/format.h>

#include "engine/checkpoint/hf_architecture.h"

namespace me {
namespace {

struct LlamaShape {
  int64_t layers, hidden, heads, groups, head_dim, ffn;
};

LlamaShape shape_of(const Recipe& r) {
  return {r.model.num_layers,         r.model.hidden_size,   r.model.num_attention_heads,
          r.derived.num_query_groups, r.derived.kv_channels, r.derived.ffn_hidden_size};
}

// rope_theta and rope scaling: transformers 5 nests them in rope_parameters, 4.x has rope_theta
// and rope_scaling at the top.
nlohmann::json rope_settings(const nlohmann::json& c) {
  nlohmann::json rope = c.contains("rope_parameters") && c["rope_parameters"].is_object()
                            ? c["rope_parameters"]
                            : nlohmann::json::object();
  if (c.contains("rope_scaling") && c["rope_scaling"].is_object()) rope.update(c["rope_scaling"]);
  if (!rope.contains("rope_theta")) rope["rope_theta"] = hf_config_or<double>(c, "rope_theta", 1e4);
  if (rope.contains("type") && !rope.contains("rope_type")) rope["rope_type"] = rope["type"];
  return rope;
}

std::string rope_yaml(const nlohmann::json& c, const std::string& where) {
  const nlohmann::json rope = rope_settings(c);
  const double theta = rope["rope_theta"].get<double>();
  std::string yaml =
      fmt::format("  rotary_base: {}\n  rotary_percent: {}\n", static_cast<int64_t>(theta),
                  hf_config_or<double>(c, "partial_rotary_factor", 1.0));
  if (static_cast<double>(static_cast<int64_t>(theta)) != theta) {
    throw Error(fmt::format("rope_theta {} is not an integer (model.rotary_base)", theta), where);
  }
  const std::string type = hf_config_or<std::string>(rope, "rope_type", "default");
  if (type == "default") return yaml + "  use_rope_scaling: false\n";
  // Megatron's Llama-3.1 scaling fixes low_freq_factor 1 and high_freq_factor 4.
  if (type != "llama3" || hf_config_or<double>(rope, "low_freq_factor", 1.0) != 1.0 ||
      hf_config_or<double>(rope, "high_freq_factor", 4.0) != 4.0) {
    throw Error(fmt::format("rope scaling {} is not supported (supported: default, and llama3 "
                            "with low_freq_factor 1 and high_freq_factor 4)",
                            rope.dump()),
                where);
  }
  return yaml +
         fmt::format(
             "  use_rope_scaling: true\n  rope_scaling_factor: {}\n"
             "  rope_scaling_original_max_position_embeddings: {}\n",
             hf_config_value(rope, "factor", where).get<double>(),
             hf_config_value(rope, "original_max_position_embeddings", where).get<int64_t>());
}

// The Llama family: the same tensors, with or without q/k/v biases.
class LlamaFamily : public HfArchitecture {
 public:
  LlamaFamily(std::string name, std::string model_type, bool qkv_bias)
      : name_(std::move(name)), model_type_(std::move(model_type)), qkv_bias_(qkv_bias) {}

  std::string model_yaml(const nlohmann::json& c, const std::string& where) const override {
    if (hf_config_or<bool>(c, "use_sliding_window", false)) {
      throw Error("use_sliding_window is not supported (sliding-window attention)", where);
    }
    if (hf_config_or<std::string>(c, "hidden_act", "silu") != "silu") {
      throw Error("hidden_act '" + c["hidden_act"].get<std::string>() +
                      "' is not supported (supported: silu, i.e. SwiGLU)",
                  where);
    }
    if (hf_config_or<bool>(c, "attention_bias", false) ||
        hf_config_or<bool>(c, "mlp_bias", false)) {
      throw Error("attention_bias and mlp_bias are not supported (Llama has no linear biases)",
                  where);
    }
    const int64_t hidden = hf_config_value(c, "hidden_size", where).get<int64_t>();
    const int64_t heads = hf_config_value(c, "num_attention_heads", where).get<int64_t>();
    const int64_t groups = hf_config_or<int64_t>(c, "num_key_value_heads", heads);
    const int64_t head_dim = hf_config_or<int64_t>(c, "head_dim", hidden / heads);
    const int64_t positions = hf_config_value(c, "max_position_embeddings", where).get<int64_t>();
    std::string yaml = fmt::format(
        "  type: gpt\n  num_layers: {}\n  hidden_size: {}\n  ffn_hidden_size: {}\n"
        "  num_attention_heads: {}\n  group_query_attention: {}\n  num_query_groups: {}\n"
        "  kv_channels: {}\n  seq_length: {}\n  max_position_embeddings: {}\n"
        "  position_embedding_type: rope\n  normalization: RMSNorm\n  layernorm_epsilon: {}\n"
        "  swiglu: true\n  untie_embeddings_and_output_weights: {}\n  add_bias_linear: false\n"
        "  add_qkv_bias: {}\n  hidden_dropout: 0.0\n  attention_dropout: {}\n"
        "  init_method_std: {}\n",
        hf_config_value(c, "num_hidden_layers", where).get<int64_t>(), hidden,
        hf_config_value(c, "intermediate_size", where).get<int64_t>(), heads, groups != heads,
        groups, head_dim, positions, positions, hf_config_or<double>(c, "rms_norm_eps", 1e-6),
        !hf_config_or<bool>(c, "tie_word_embeddings", false), qkv_bias_,
        hf_config_or<double>(c, "attention_dropout", 0.0),
        hf_config_or<double>(c, "initializer_range", 0.02));
    return yaml + rope_yaml(c, where);
  }

  bool matches(const Recipe& r) const override {
    const auto& m = r.model;
    return m.position_embedding_type == "rope" && m.normalization == "RMSNorm" && m.swiglu &&
           !m.add_bias_linear && m.add_qkv_bias == qkv_bias_ && !m.qk_layernorm &&
           !m.rotary_interleaved;
  }

  nlohmann::json config(const Recipe& r, int64_t vocab_size) const override {
    const LlamaShape s = shape_of(r);
    const auto& m = r.model;
    nlohmann::json rope = {{"rope_theta", static_cast<double>(m.rotary_base)},
                           {"rope_type", "default"}};
    if (m.use_rope_scaling) {
      rope = {
          {"rope_theta", static_cast<double>(m.rotary_base)},
          {"rope_type", "llama3"},
          {"factor", m.rope_scaling_factor},
          {"low_freq_factor", 1.0},
          {"high_freq_factor", 4.0},
          {"original_max_position_embeddings", m.rope_scaling_original_max_position_embeddings}};
    }
    return {{"architectures", {name_}},
            {"model_type", model_type_},
            {"vocab_size", vocab_size},
            {"hidden_size", s.hidden},
            {"intermediate_size", s.ffn},
            {"num_hidden_layers", s.layers},
            {"num_attention_heads", s.heads},
            {"num_key_value_heads", s.groups},
            {"head_dim", s.head_dim},
            {"max_position_embeddings", m.max_position_embeddings},
            {"hidden_act", "silu"},
            {"rms_norm_eps", m.layernorm_epsilon},
            {"attention_bias", false},
            {"mlp_bias", false},
            {"attention_dropout", m.attention_dropout},
            {"initializer_range", m.init_method_std},
            {"partial_rotary_factor", m.rotary_percent},
            {"tie_word_embeddings", !m.untie_embeddings_and_output_weights},
            {"rope_parameters", rope},
            {"rope_theta", static_cast<double>(m.rotary_base)},
            {"rope_scaling", m.use_rope_scaling ? rope : nlohmann::json()},
            {"use_sliding_window", false}};
  }

  void to_ours(HfTensorSource& src, const Recipe& r, int64_t vocab,
               const HfTensorSink& put) const override {
    const LlamaShape s = shape_of(r);
    const int64_t q_rows = s.heads * s.head_dim, kv_rows = s.groups * s.head_dim;
    put("embedding.word_embeddings.weight",
        src.take("model.embed_tokens.weight", {vocab, s.hidden}));
    for (int64_t i = 0; i < s.layers; ++i) {
      const std::string hf = fmt::format("model.layers.{}.", i);
      const std::string me = fmt::format("decoder.layers.{}.", i);
      src.ignore(hf + "self_attn.rotary_emb.inv_freq");  // a buffer in older checkpoints
      put(me + "input_layernorm.weight", src.take(hf + "input_layernorm.weight", {s.hidden}));
      put(me + "self_attention.linear_qkv.weight",
          group_qkv(src.take(hf + "self_attn.q_proj.weight", {q_rows, s.hidden}),
                    src.take(hf + "self_attn.k_proj.weight", {kv_rows, s.hidden}),
                    src.take(hf + "self_attn.v_proj.weight", {kv_rows, s.hidden}), s.heads,
                    s.groups, s.head_dim));
      if (qkv_bias_) {
        put(me + "self_attention.linear_qkv.bias",
            group_qkv(src.take(hf + "self_attn.q_proj.bias", {q_rows}),
                      src.take(hf + "self_attn.k_proj.bias", {kv_rows}),
                      src.take(hf + "self_attn.v_proj.bias", {kv_rows}), s.heads, s.groups,
                      s.head_dim));
      }
      put(me + "self_attention.linear_proj.weight",
          src.take(hf + "self_attn.o_proj.weight", {s.hidden, q_rows}));
      put(me + "pre_mlp_layernorm.weight",
          src.take(hf + "post_attention_layernorm.weight", {s.hidden}));
      put(me + "mlp.linear_fc1.weight",
          concat_rows({src.take(hf + "mlp.gate_proj.weight", {s.ffn, s.hidden}),
                       src.take(hf + "mlp.up_proj.weight", {s.ffn, s.hidden})}));
      put(me + "mlp.linear_fc2.weight", src.take(hf + "mlp.down_proj.weight", {s.hidden, s.ffn}));
    }
    put("decoder.final_layernorm.weight", src.take("model.norm.weight", {s.hidden}));
    if (r.model.untie_embeddings_and_output_weights) {
      put("output_layer.weight", src.take("lm_head.weight", {vocab, s.hidden}));
    } else {
      src.ignore("lm_head.weight");  // tied: a copy of embed_tokens when present
    }
  }

  std::map<std::string, Tensor> to_hf(const std::map<std::string, Tensor>& ours, const Recipe& r,
                                      int64_t vocab) const override {
    const LlamaShape s = shape_of(r);
    auto get = [&](const std::string& name) -> const Tensor& { return ours.at(name); };
    std::map<std::string, Tensor> out;
    out["model.embed_tokens.weight"] =
        slice_rows(get("embedding.word_embeddings.weight"), 0, vocab);
    for (int64_t i = 0; i < s.layers; ++i) {
      const std::string hf = fmt::format("model.layers.{}.", i);
      const std::string me = fmt::format("decoder.layers.{}.", i);
      out[hf + "input_layernorm.weight"] = get(me + "input_layernorm.weight");
      const QkvParts qkv =
          ungroup_qkv(get(me + "self_attention.linear_qkv.weight"), s.heads, s.groups, s.head_dim);
      out[hf + "self_attn.q_proj.weight"] = qkv.q;
      out[hf + "self_attn.k_proj.weight"] = qkv.k;
      out[hf + "self_attn.v_proj.weight"] = qkv.v;
      if (qkv_bias_) {
        const QkvParts bias =
            ungroup_qkv(get(me + "self_attention.linear_qkv.bias"), s.heads, s.groups, s.head_dim);
        out[hf + "self_attn.q_proj.bias"] = bias.q;
        out[hf + "self_attn.k_proj.bias"] = bias.k;
        out[hf + "self_attn.v_proj.bias"] = bias.v;
      }
      out[hf + "self_attn.o_proj.weight"] = get(me + "self_attention.linear_proj.weight");
      out[hf + "post_attention_layernorm.weight"] = get(me + "pre_mlp_layernorm.weight");
      const Tensor& fc1 = get(me + "mlp.linear_fc1.weight");
      out[hf + "mlp.gate_proj.weight"] = slice_rows(fc1, 0, s.ffn);
      out[hf + "mlp.up_proj.weight"] = slice_rows(fc1, s.ffn, 2 * s.ffn);
      out[hf + "mlp.down_proj.weight"] = get(me + "mlp.linear_fc2.weight");
    }
    out["model.norm.weight"] = get("decoder.final_layernorm.weight");
    if (r.model.untie_embeddings_and_output_weights) {
      out["lm_head.weight"] = slice_rows(get("output_layer.weight"), 0, vocab);
    }
    return out;
  }

 private:
  std::string name_;
  std::string model_type_;
  bool qkv_bias_;
};

class LlamaArchitecture final : public LlamaFamily {
 public:
  LlamaArchitecture() : LlamaFamily("LlamaForCausalLM", "llama", false) {}
};

class Qwen2Architecture final : public LlamaFamily {
 public:
  Qwen2Architecture() : LlamaFamily("Qwen2ForCausalLM", "qwen2", true) {}
};

}  // namespace

ME_REGISTER(HfArchitectureRegistry, "LlamaForCausalLM", LlamaArchitecture);
ME_REGISTER(HfArchitectureRegistry, "Qwen2ForCausalLM", Qwen2Architecture);

}  // namespace me
