// Recipe section `model`: the transformer's shape, positions, norms, dropout and init (Megatron's
// model arguments).
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup model_section() {
  FieldGroup group{.section = "model", .doc = "Architecture of the transformer.", .file = __FILE__};
  group.fields = {
      ME_FIELD(model, type)
          .def("gpt")
          .registered("model")
          .engine_only()
          .describe("Registered model name (megatron-engine --list shows them)."),
      ME_FIELD(model, num_layers).require().in(kPositive).describe("Transformer layers (L)."),
      ME_FIELD(model, hybrid_override_pattern)
          .def("null")
          .describe(
              "One character per layer, num_layers long: '*' self-attention alone, '-' an MLP "
              "alone (Megatron's hybrid layer pattern); null: every layer attention and MLP."),
      ME_FIELD(model, hidden_size).require().in(kPositive).describe("Hidden size (h)."),
      ME_FIELD(model, ffn_hidden_size)
          .def("null")
          .in(kPositive)
          .describe("MLP inner width; null means 4 * hidden_size."),
      ME_FIELD(model, num_attention_heads).require().in(kPositive).describe("Attention heads (a)."),
      ME_FIELD(model, kv_channels)
          .def("null")
          .in(kPositive)
          .describe("Per-head dimension; null means hidden_size / num_attention_heads."),
      ME_FIELD(model, group_query_attention)
          .def("false")
          .describe("Grouped-query attention with num_query_groups key/value heads."),
      ME_FIELD(model, num_query_groups)
          .def("1")
          .in(kPositive)
          .describe("Key/value head groups, used only with group_query_attention (1 = "
                    "multi-query)."),
      ME_FIELD(model, seq_length)
          .require()
          .in(kPositive)
          .describe("Training sequence length in tokens."),
      ME_FIELD(model, max_position_embeddings)
          .require()
          .in(kPositive)
          .describe("Rows of the learned position table; at least seq_length."),
      ME_FIELD(model, position_embedding_type)
          .def("learned_absolute")
          .one_of({"learned_absolute", "rope", "yarn", "mrope", "relative", "none"})
          .describe("Position encoding; learned_absolute and rope run today."),
      ME_FIELD(model, rotary_base)
          .def("10000")
          .in(kPositive)
          .describe("RoPE theta (an int, as Megatron's argparse: write 500000, not 5e5)."),
      ME_FIELD(model, rotary_percent)
          .def("1.0")
          .in(Range{0.0, 1.0, true, false})
          .describe("Fraction of each head's channels that RoPE rotates."),
      ME_FIELD(model, rotary_interleaved)
          .def("false")
          .describe("Rotate (even, odd) channel pairs instead of the two halves "
                    "(Llama's rotate_half)."),
      ME_FIELD(model, use_rope_scaling)
          .def("false")
          .describe("Llama-3.1 RoPE frequency scaling (low_freq_factor 1, high_freq_factor 4)."),
      ME_FIELD(model, rope_scaling_factor)
          .def("8.0")
          .in(kAboveZero)
          .describe("Factor of use_rope_scaling."),
      ME_FIELD(model, rope_scaling_original_max_position_embeddings)
          .def("8192")
          .in(kPositive)
          .engine_only()
          .describe("Context length use_rope_scaling scales from (Megatron fixes 8192; "
                    "Hugging Face's rope_scaling.original_max_position_embeddings)."),
      ME_FIELD(model, normalization)
          .def("LayerNorm")
          .one_of({"LayerNorm", "RMSNorm"})
          .describe("Normalisation layer."),
      ME_FIELD(model, layernorm_epsilon)
          .def("1e-5")
          .in(kAboveZero)
          .describe("Norm epsilon (Megatron flag --norm-epsilon)."),
      ME_FIELD(model, swiglu)
          .def("false")
          .describe("Gated SiLU MLP: linear_fc1 gives [gate | up], 2 * ffn_hidden_size wide."),
      ME_FIELD(model, untie_embeddings_and_output_weights)
          .def("false")
          .describe("Separate LM-head weights instead of reusing the word embedding."),
      ME_FIELD(model, add_bias_linear)
          .def("true")
          .describe("Biases in all linear layers (Megatron flag --disable-bias-linear sets "
                    "false)."),
      ME_FIELD(model, add_qkv_bias)
          .def("false")
          .describe("Bias on linear_qkv only (implied by add_bias_linear)."),
      ME_FIELD(model, qk_layernorm)
          .def("false")
          .describe("Normalise q and k per head (model.normalization) before RoPE."),
      ME_FIELD(model, hidden_dropout)
          .def("0.1")
          .in(kProbability)
          .describe("Dropout on residual branches and embeddings."),
      ME_FIELD(model, attention_dropout)
          .def("0.1")
          .in(kProbability)
          .describe("Dropout on attention probabilities."),
      ME_FIELD(model, init_method_std)
          .def("0.02")
          .in(kAboveZero)
          .describe("Std of the N(0, std) weight init; output projections use std / sqrt(2 L)."),
      ME_FIELD(model, embedding_init_method_std)
          .def("null")
          .in(kAboveZero)
          .describe("Std for embedding init; null means init_method_std."),
      ME_FIELD(model, make_vocab_size_divisible_by)
          .def("128")
          .in(kPositive)
          .describe("Pad the vocabulary to a multiple of this times tensor_model_parallel_size."),
      ME_FIELD(model, padded_vocab_size)
          .def("null")
          .in(kPositive)
          .describe("Explicit padded vocabulary size; null means computed from the tokenizer."),
  };
  return group;
}

}  // namespace me
