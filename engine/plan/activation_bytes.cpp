// Per-token activation bytes read off the modules: what each Saved struct holds (layer_norm,
// rms_norm, linear, self_attention, mlp, lm_head, embedding), in the compute dtype except the f32
// statistics and log-sum-exps. Tensor parallelism splits the heads and the MLP width; sequence
// parallelism also splits the norms' and the column-parallel linears' inputs (their token rows).
#include "engine/plan/activation_bytes.h"

#include <algorithm>

#include "engine/recipe/sequence_parallel_rules.h"

namespace me {

TokenBytes token_bytes(const Recipe& recipe, int64_t padded_vocab_size) {
  const auto& m = recipe.model;
  const auto& d = recipe.derived;
  const double a = recipe.mixed_precision.bf16 || recipe.mixed_precision.fp16 ? 2.0 : 4.0;
  const double f32 = 4.0;
  const double tp = static_cast<double>(recipe.parallel.tensor_model_parallel_size);
  const bool sp = sequence_parallel_enabled(recipe, false);
  const double rows = sp ? 1.0 / tp : 1.0;  // this rank's share of the token rows
  const double c = static_cast<double>(m.hidden_size);
  const double heads = static_cast<double>(m.num_attention_heads);
  const double groups = static_cast<double>(d.num_query_groups);
  const double q_width = heads * static_cast<double>(d.kv_channels);
  const double kv_width = groups * static_cast<double>(d.kv_channels);
  const double ffn = static_cast<double>(d.ffn_hidden_size);
  const double fc1_out = m.swiglu ? 2.0 * ffn : ffn;
  const double stats = m.normalization == "RMSNorm" ? 1.0 : 2.0;  // rstd, or mean and rstd

  // Two norms (input and statistics) and the qkv and fc1 inputs.
  const double token_rows = rows * (4.0 * c * a + 2.0 * stats * f32);
  double attention = (2.0 * q_width + 2.0 * kv_width) * a + heads * f32;  // q k v out, lse
  if (m.qk_layernorm) attention += (q_width + kv_width) * a + stats * (heads + groups) * f32;
  const double mlp = (fc1_out + ffn) * a;  // fc1 output, fc2 input

  TokenBytes b;
  b.layer_full = token_rows + (attention + mlp) / tp;
  b.layer_selective = token_rows + mlp / tp;
  b.checkpoint = rows * c * a;
  b.hidden = rows * c * a;
  b.embedding = 4.0;
  const double vocab = static_cast<double>(padded_vocab_size);
  b.head = rows * (2.0 * c * a + stats * f32) + vocab / tp * a + f32 + 8.0;
  // The logits' gradient is written over the logits; the hidden gradient (N, C) comes after it,
  // under sequence parallelism beside the gathered input and its reduce-scattered rows.
  b.head_backward = (sp ? c * a + rows * c * a : 0.0) + 8.0 + f32 + c * a;
  // fc2's input gradient: with GeLU through a (B T, F) temporary on the CPU (the GEMM, then the
  // derivative; CUDA fuses them), with SwiGLU the fc1 output gradient (2F) beside the fc2 one.
  const bool cpu = recipe.train.device != "cuda";
  const double gelu_temporary = !m.swiglu && cpu ? ffn : 0.0;
  // With hidden dropout the MLP's backward starts from the dropout's gradient, beside dy.
  const double dropout_grad = m.hidden_dropout > 0 ? rows * c * a : 0.0;
  b.layer_backward =
      rows * c * a + dropout_grad + (sp ? c * a : 0.0) + (fc1_out + gelu_temporary) / tp * a;
  b.batch = 16.0;
  b.positions = 4.0;
  b.labels = 4.0;
  return b;
}

double kept_layer_bytes(const Recipe& recipe, const TokenBytes& bytes) {
  return recipe.train.recompute_granularity == "selective" ? bytes.layer_selective
                                                           : bytes.layer_full;
}

}  // namespace me
