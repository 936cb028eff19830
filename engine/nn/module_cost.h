// What a module costs per token of a micro-batch on one rank, reported by the module itself so
// `plan` sums modules instead of restating one model's formula. Modules are built under the
// trainer's tensor-parallel and pipeline scopes, so they already know their local (sharded)
// shapes; the query carries only what they cannot know before parameters are bound and a batch
// arrives: the compute dtype, the sequence length (attention's cost grows with it), how many rows
// of their input each token of the micro-batch is (1 / tp under sequence parallelism, the heads
// for a per-head norm) and whether the device is the host (some host kernels keep temporaries
// that the CUDA ones fuse away). Per token, because everything but attention's scores scales with
// the micro-batch's tokens, and attention's per-token share is linear in the sequence length.
#pragma once

#include <span>

#include "engine/core/dtype.h"

namespace me {

struct CostQuery {
  DType dtype = DType::kF32;  // what activations are computed in
  double seq_length = 1;      // tokens per sample (attention's keys per query)
  double rows = 1;            // rows of the module's input per token of the micro-batch
  bool host = true;           // the device is the CPU

  double element_bytes() const { return static_cast<double>(dtype_size(dtype)); }
  // Statistics, log-sum-exps and losses stay f32 (f64 when computing in f64): accum_dtype.
  double statistic_bytes() const { return static_cast<double>(dtype_size(accum_dtype(dtype))); }
  CostQuery with_rows(double r) const {
    CostQuery q = *this;
    q.rows = r;
    return q;
  }
};

// Bytes, FLOPs and traffic per token of a micro-batch on one rank.
struct ModuleCost {
  // What forward keeps for backward: the tensors its Saved structs hold, each storage counted
  // once (a tensor two modules keep is counted by their parent once). Views of the micro-batch's
  // own tensors (token ids, labels, positions) are the model's to count.
  double saved = 0;
  // The most its backward holds beyond `saved` and what others hold: its incoming gradient, the
  // gradients and temporaries it allocates, less the saved tensors it has already released.
  double backward = 0;
  // Training FLOPs, forward and backward, as Megatron counts them: 6 per weight a token passes
  // through a GEMM, and attention's score and value products (norms, activations and softmax are
  // not counted).
  double flops = 0;
  // Bytes this rank sends in tensor-parallel collectives, forward and backward (a ring
  // all-reduce sends 2 (tp - 1) / tp of its buffer, an all-gather or reduce-scatter (tp - 1) / tp
  // of the whole tensor).
  double tensor_parallel_bytes = 0;
  // Bytes of its input: what a checkpoint at this module keeps (recompute).
  double input = 0;
};

// Modules run one after another: forward in order, backward in reverse, each releasing its saved
// tensors when its backward ends. `held_gradient`: bytes of the incoming gradient the caller keeps
// alive while the modules below the last one run their backward.
ModuleCost sequence_cost(std::span<const ModuleCost> parts, double held_gradient);

// Bytes a ring collective over `group` ranks sends per rank: an all-reduce of `bytes`, or an
// all-gather / reduce-scatter whose whole tensor is `bytes`.
double all_reduce_bytes(double bytes, double group);
double all_gather_bytes(double bytes, double group);

}  // namespace me
