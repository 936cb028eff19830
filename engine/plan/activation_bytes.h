// Bytes one micro-batch holds per token on one rank, module by module as the engine saves them
// (the Saved structs of engine/nn), and the transient buffers alive at its backward's peak.
// engine/plan/memory_plan.cpp walks the pipeline schedule with these.
#pragma once

#include <cstdint>

#include "engine/recipe/recipe.h"

namespace me {

// Per token of a micro-batch (mbs x seq_length tokens), on one tensor-parallel rank.
struct TokenBytes {
  // One decoder layer with everything saved: norm inputs and f32 statistics, the qkv and fc1
  // inputs, q, k, v (and q/k norm inputs), the attention output, the f32 log-sum-exp, the fc1
  // output and the fc2 input.
  double layer_full = 0;
  // One decoder layer under selective recompute: the attention slot keeps only its input.
  double layer_selective = 0;
  // The input a full-recompute group keeps.
  double checkpoint = 0;
  // A hidden state or its gradient as pipeline stages exchange them (this rank's token rows).
  double hidden = 0;
  // First stage: the embedding's token ids (a view of the batch's, or this rank's local ids).
  double embedding = 0;
  // Last stage: the final norm's input and statistics, the head's hidden input, the logits
  // (V / tp, compute dtype), the labels, the f32 log-sum-exp and the f64 loss mask.
  double head = 0;
  // Transient at the head's backward: the loss gradients (f64 on the host, then f32), the gathered
  // hidden under sequence parallelism, then the larger of the tensor-parallel cross-entropy's
  // host f64 fix-up of the logits' gradient and the hidden gradient over all tokens. The logits'
  // gradient itself overwrites the logits.
  double head_backward = 0;
  // Transient at a layer's backward peak (the MLP's): the incoming gradient (and the hidden
  // dropout's gradient of it), its gathered copy under sequence parallelism, fc2's input gradient
  // (F / tp) and, with GeLU on the CPU, the GEMM result before the derivative (F / tp), or with
  // SwiGLU the fc1 output gradient (2F / tp).
  double layer_backward = 0;
  // The micro-batch's own tensors: tokens, labels, positions (i32) and loss mask (f32). One rank
  // without a pipeline keeps the whole batch through forward and backward; a pipeline stage keeps
  // the positions (the micro-batch's sequence info), the rest is dropped after its forward.
  double batch = 0;
  double positions = 0;
  double labels = 0;
};

// padded_vocab_size: the model's (padded) vocabulary, all tensor-parallel ranks together.
TokenBytes token_bytes(const Recipe& recipe, int64_t padded_vocab_size);

// Bytes the layer keeps per token under the recipe's recompute setting when not in a
// full-recompute group: layer_full, or layer_selective with selective recompute.
double kept_layer_bytes(const Recipe& recipe, const TokenBytes& bytes);

}  // namespace me
