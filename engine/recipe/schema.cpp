// The schema table: every recipe field with its Megatron-LM name, type, default, range, doc and
// the struct member it fills. Defaults are Megatron's (megatron-facts.md) unless a doc says why
// not.
#include "engine/recipe/schema.h"

namespace me {
namespace {

template <class T>
struct TypeOf;
template <>
struct TypeOf<int64_t> {
  static constexpr ValueType kType{FieldType::kInt, false};
};
template <>
struct TypeOf<double> {
  static constexpr ValueType kType{FieldType::kFloat, false};
};
template <>
struct TypeOf<bool> {
  static constexpr ValueType kType{FieldType::kBool, false};
};
template <>
struct TypeOf<std::string> {
  static constexpr ValueType kType{FieldType::kString, false};
};
template <>
struct TypeOf<std::vector<std::string>> {
  static constexpr ValueType kType{FieldType::kStringList, false};
};
template <class T>
struct TypeOf<std::optional<T>> {
  static constexpr ValueType kType{TypeOf<T>::kType.base, true};
};

template <class T>
void assign(T& slot, const Value& v) {
  slot = std::get<T>(v);
}
template <class T>
void assign(std::optional<T>& slot, const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    slot.reset();
  } else {
    slot = std::get<T>(v);
  }
}

template <class T>
Value read(const T& slot) {
  return Value{slot};
}
template <class T>
Value read(const std::optional<T>& slot) {
  return slot ? Value{*slot} : Value{std::monostate{}};
}

// The member pointers tie each row to its struct member: type comes from the member's C++ type.
template <class S, class T>
Field make_field(const char* section, const char* key, S Recipe::*sec, T S::*member) {
  Field f;
  f.section = section;
  f.key = key;
  f.type = TypeOf<T>::kType;
  f.set = [sec, member](Recipe& r, const Value& v) { assign(r.*sec.*member, v); };
  f.get = [sec, member](const Recipe& r) { return read(r.*sec.*member); };
  return f;
}

#define ME_FIELD(section, key) \
  make_field(#section, #key, &Recipe::section, &decltype(Recipe::section)::key)

const Range kPositive = Range::at_least(1);
const Range kNonNegative = Range::at_least(0);
const Range kAboveZero = Range::above(0);
const Range kProbability = Range::half_open(0, 1);

std::vector<Field> build_schema() {
  return {
      // model
      ME_FIELD(model, type)
          .def("gpt")
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
          .describe(
              "Key/value head groups, used only with group_query_attention (1 = multi-query)."),
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
          .describe(
              "Biases in all linear layers (Megatron flag --disable-bias-linear sets false)."),
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
      // parallel
      ME_FIELD(parallel, tensor_model_parallel_size)
          .def("1")
          .in(kPositive)
          .describe("Tensor-parallel ranks (tp): heads, MLP and vocabulary split over them."),
      ME_FIELD(parallel, pipeline_model_parallel_size)
          .def("1")
          .in(kPositive)
          .describe("Pipeline stages (pp): layers split over ranks, 1F1B schedule."),
      ME_FIELD(parallel, decoder_first_pipeline_num_layers)
          .def("null")
          .in(kPositive)
          .describe("Layers of the first pipeline stage (uneven split); null means even."),
      ME_FIELD(parallel, decoder_last_pipeline_num_layers)
          .def("null")
          .in(kPositive)
          .describe("Layers of the last pipeline stage (uneven split); null means even."),
      ME_FIELD(parallel, num_layers_per_virtual_pipeline_stage)
          .def("null")
          .in(kPositive)
          .describe("Layers per virtual pipeline stage: interleaved 1F1B over num_layers / pp / "
                    "this chunks per rank; null means no interleaving."),
      ME_FIELD(parallel, context_parallel_size)
          .def("1")
          .in(kPositive)
          .describe("Context-parallel ranks (cp), splitting the sequence; only 1 runs today."),
      ME_FIELD(parallel, sequence_parallel)
          .def("false")
          .describe("Split the sequence over the tensor-parallel ranks outside the "
                    "tensor-parallel blocks (norms, dropout, residuals): all-gather and "
                    "reduce-scatter replace the all-reduces; seq_length must divide by tp. "
                    "Ignored, with a warning, at tp 1."),
      ME_FIELD(parallel, use_distributed_optimizer)
          .def("false")
          .describe("Shard fp32 master weights and optimizer state over data-parallel ranks "
                    "(ZeRO-1): reduce-scatter gradients, update a shard, all-gather parameters."),
      ME_FIELD(parallel, overlap_grad_reduce)
          .def("false")
          .describe("Start each gradient bucket's reduce as soon as the last micro-batch's "
                    "backward completes it, overlapping the rest of backward (NCCL on its own "
                    "stream; MPI progresses between layers)."),
      ME_FIELD(parallel, overlap_param_gather)
          .def("false")
          .describe("Distributed optimizer: start each bucket's parameter all-gather after the "
                    "step and wait for it only before the next forward first uses the bucket; "
                    "needs use_distributed_optimizer and overlap_grad_reduce."),
      ME_FIELD(parallel, ddp_bucket_size)
          .def("null")
          .in(kPositive)
          .describe("Elements per gradient-reduce bucket; null means one bucket, or "
                    "max(40M, 1M x data_parallel_size) with overlap_grad_reduce."),
      ME_FIELD(parallel, distributed_timeout_minutes)
          .def("10")
          .in(kAboveZero)
          .describe("A collective not complete after this long ends the job (exit code 6) naming "
                    "the ranks that did not arrive; fractions allowed."),
      // data
      ME_FIELD(data, data_path)
          .def("[]")
          .describe("HDF5 token datasets: [prefix], [w1, p1, w2, p2, ...] or [p1, p2, ...]."),
      ME_FIELD(data, train_data_path)
          .def("[]")
          .describe(
              "Training-split blend, like data_path but the whole files; excludes data_path."),
      ME_FIELD(data, valid_data_path)
          .def("[]")
          .describe("Validation-split blend, like train_data_path."),
      ME_FIELD(data, test_data_path).def("[]").describe("Test-split blend, like train_data_path."),
      ME_FIELD(data, split)
          .def("\"969, 30, 1\"")
          .describe("Train, valid, test proportions (normalised)."),
      ME_FIELD(data, data_cache_path)
          .def("null")
          .describe("Directory for index caches; null means beside the data."),
      ME_FIELD(data, mock_data)
          .def("false")
          .describe("Synthetic random tokens instead of data_path."),
      ME_FIELD(data, eod_mask_loss).def("false").describe("No loss on end-of-document tokens."),
      ME_FIELD(data, reset_position_ids)
          .def("false")
          .describe("Restart position ids after each end-of-document token."),
      ME_FIELD(data, reset_attention_mask)
          .def("false")
          .describe("Attention never crosses an end-of-document token (per-token document ids)."),
      // tokenizer
      ME_FIELD(tokenizer, tokenizer_type)
          .def("null")
          .one_of({"byte", "GPT2BPETokenizer", "HuggingFaceTokenizer", "TikTokenizer",
                   "GPTSentencePieceTokenizer", "Llama2Tokenizer", "SentencePieceTokenizer"})
          .describe("Tokenizer; null means the one recorded in the dataset file. "
                    "'byte' (raw UTF-8 bytes) is megatron-engine's own."),
      ME_FIELD(tokenizer, vocab_file).def("null").describe("vocab.json for GPT2BPETokenizer."),
      ME_FIELD(tokenizer, merge_file).def("null").describe("merges.txt for GPT2BPETokenizer."),
      ME_FIELD(tokenizer, tokenizer_model)
          .def("null")
          .describe("tokenizer.json (HuggingFaceTokenizer), tiktoken rank file (TikTokenizer) "
                    "or SentencePiece .model."),
      ME_FIELD(tokenizer, vocab_size)
          .def("null")
          .in(kPositive)
          .describe("Vocabulary size when no tokenizer file gives it."),
      // train
      ME_FIELD(train, device)
          .def("cpu")
          .one_of({"cpu", "cuda"})
          .engine_only()
          .describe("Where to train: cpu (reference kernels) or cuda."),
      ME_FIELD(train, ranks_per_device)
          .def("1")
          .in(kPositive)
          .engine_only()
          .describe("Ranks sharing one GPU (cuda): 1 gives each rank its own GPU and NCCL "
                    "collectives; more lets a layout run on fewer GPUs to debug it, with CUDA "
                    "tensors passing through host memory and MPI (slow)."),
      ME_FIELD(train, micro_batch_size)
          .require()
          .in(kPositive)
          .describe("Samples per micro-batch per data-parallel rank."),
      ME_FIELD(train, global_batch_size)
          .def("null")
          .in(kPositive)
          .describe("Samples per iteration; null means micro_batch_size * data_parallel_size."),
      ME_FIELD(train, train_iters)
          .require()
          .in(kPositive)
          .describe("Iterations to train (Megatron's train_samples is not supported)."),
      ME_FIELD(train, eval_interval)
          .def("null")
          .in(kPositive)
          .describe("Validate every N iterations; null means never."),
      ME_FIELD(train, eval_iters)
          .def("100")
          .in(kNonNegative)
          .describe("Batches per validation or test run."),
      ME_FIELD(train, seed)
          .def("1234")
          .in(kNonNegative)
          .describe("Base random seed (init, dropout, data order)."),
      ME_FIELD(train, exit_interval)
          .def("null")
          .in(kPositive)
          .describe("Save (if checkpoint.save is set) and exit when iteration % N == 0."),
      ME_FIELD(train, exit_duration_in_mins)
          .def("null")
          .in(kAboveZero)
          .describe("Save and exit after this many minutes."),
      ME_FIELD(train, exit_signal_handler)
          .def("true")
          .describe("On SIGTERM/SIGINT save a checkpoint and exit. Deviation: Megatron defaults to "
                    "false."),
      ME_FIELD(train, deterministic_mode)
          .def("false")
          .describe("Bitwise-reproducible kernels and reductions."),
      ME_FIELD(train, calculate_per_token_loss)
          .def("false")
          .describe("Normalise the loss by the global token count instead of per micro-batch."),
      ME_FIELD(train, check_for_nan_in_loss_and_grad)
          .def("true")
          .describe("Stop with exit code 4 when the loss or a gradient is NaN/Inf, naming the "
                    "iteration, rank and first parameter whose gradient went bad; nothing is "
                    "saved after it."),
      ME_FIELD(train, recompute_granularity)
          .def("null")
          .one_of({"full", "selective"})
          .describe("Activation recompute: full re-runs whole layers in backward (with "
                    "recompute_method and recompute_num_layers); selective re-runs each layer's "
                    "self-attention (qkv, core attention, projection) from its input."),
      ME_FIELD(train, recompute_method)
          .def("null")
          .one_of({"uniform", "block"})
          .describe("With full recompute: uniform saves only the input of each chunk of "
                    "recompute_num_layers layers; block recomputes the first "
                    "recompute_num_layers layers of each pipeline stage, one at a time."),
      ME_FIELD(train, recompute_num_layers)
          .def("null")
          .in(kPositive)
          .describe("Layers per recompute chunk (uniform) or recomputed layers per stage (block)."),
      ME_FIELD(train, inject_nan_at_iteration)
          .def("null")
          .in(kPositive)
          .engine_only()
          .describe("test-only: poison the loss gradient at this iteration"),
      ME_FIELD(train, inject_stall_at_iteration)
          .def("null")
          .in(kPositive)
          .engine_only()
          .describe("test-only: rank inject_fault_rank sleeps forever at this iteration"),
      ME_FIELD(train, inject_kill_at_iteration)
          .def("null")
          .in(kPositive)
          .engine_only()
          .describe("test-only: rank inject_fault_rank kills itself (SIGKILL) at this iteration"),
      ME_FIELD(train, inject_fault_rank)
          .def("0")
          .in(kNonNegative)
          .engine_only()
          .describe("test-only: the rank the inject_stall/inject_kill switches act on"),
      ME_FIELD(train, loss_spike_window)
          .def("null")
          .in(Range::at_least(2))
          .engine_only()
          .describe("Skip the optimizer update (counted in skipped_iterations) when the loss or "
                    "grad norm is more than loss_spike_sigma standard deviations above the mean "
                    "of the last N iterations; null turns the check off."),
      ME_FIELD(train, loss_spike_sigma)
          .def("5.0")
          .in(kAboveZero)
          .engine_only()
          .describe("How many standard deviations above the window's mean count as a spike."),
      ME_FIELD(train, inject_loss_spike_at_iteration)
          .def("null")
          .in(kPositive)
          .engine_only()
          .describe("test-only: report a loss and grad norm 1000 times too large at this "
                    "iteration"),
      // optimizer
      ME_FIELD(optimizer, optimizer)
          .def("adam")
          .one_of({"adam", "sgd", "muon", "dist_muon", "lion", "soap", "adaptive_muon"})
          .describe(
              "Optimizer; adam is AdamW (decoupled weight decay). Only adam and sgd run today."),
      ME_FIELD(optimizer, lr).require().in(kNonNegative).describe("Peak learning rate."),
      ME_FIELD(optimizer, min_lr)
          .def("0.0")
          .in(kNonNegative)
          .describe("Learning-rate floor after decay."),
      ME_FIELD(optimizer, weight_decay)
          .def("0.01")
          .in(kNonNegative)
          .describe("Decoupled weight decay; never applied to biases and norm weights."),
      ME_FIELD(optimizer, start_weight_decay)
          .def("null")
          .in(kNonNegative)
          .describe("Weight decay at step 0 for a non-constant weight_decay_incr_style."),
      ME_FIELD(optimizer, end_weight_decay)
          .def("null")
          .in(kNonNegative)
          .describe("Weight decay at the end for a non-constant weight_decay_incr_style."),
      ME_FIELD(optimizer, weight_decay_incr_style)
          .def("constant")
          .one_of({"constant", "linear", "cosine"})
          .describe("How weight decay moves from start_weight_decay to end_weight_decay."),
      ME_FIELD(optimizer, clip_grad)
          .def("1.0")
          .in(kNonNegative)
          .describe("Clip the global gradient L2 norm to this; 0 disables clipping."),
      ME_FIELD(optimizer, adam_beta1).def("0.9").in(kProbability).describe("Adam beta1."),
      ME_FIELD(optimizer, adam_beta2).def("0.999").in(kProbability).describe("Adam beta2."),
      ME_FIELD(optimizer, adam_eps).def("1e-8").in(kAboveZero).describe("Adam epsilon."),
      ME_FIELD(optimizer, sgd_momentum).def("0.9").in(kProbability).describe("SGD momentum."),
      // scheduler
      ME_FIELD(scheduler, lr_decay_style)
          .def("linear")
          .one_of({"constant", "linear", "cosine", "inverse-square-root", "WSD"})
          .describe("Learning-rate decay after warmup."),
      ME_FIELD(scheduler, lr_decay_iters)
          .def("null")
          .in(kPositive)
          .describe("Decay horizon in iterations; null means train_iters."),
      ME_FIELD(scheduler, lr_warmup_iters)
          .def("0")
          .in(kNonNegative)
          .describe("Linear warmup from lr_warmup_init to lr over this many iterations."),
      ME_FIELD(scheduler, lr_warmup_fraction)
          .def("null")
          .in(Range::closed(0, 1))
          .describe("Warmup as a fraction of the decay horizon (instead of lr_warmup_iters)."),
      ME_FIELD(scheduler, lr_warmup_init)
          .def("0.0")
          .in(kNonNegative)
          .describe("Learning rate at the start of warmup."),
      ME_FIELD(scheduler, lr_wsd_decay_style)
          .def("exponential")
          .one_of({"exponential", "linear", "cosine", "minus_sqrt"})
          .describe("Anneal shape of the WSD schedule's last phase."),
      ME_FIELD(scheduler, lr_wsd_decay_iters)
          .def("null")
          .in(kPositive)
          .describe("Length of the WSD anneal phase; required for WSD."),
      // mixed_precision
      ME_FIELD(mixed_precision, bf16)
          .def("false")
          .describe("bf16 compute, fp32 master weights; needs train.device cuda."),
      ME_FIELD(mixed_precision, fp16)
          .def("false")
          .describe(
              "fp16 compute with loss scaling, fp32 master weights; needs train.device cuda."),
      ME_FIELD(mixed_precision, loss_scale)
          .def("null")
          .in(kAboveZero)
          .describe("Static loss scale; null means dynamic scaling (fp16)."),
      ME_FIELD(mixed_precision, initial_loss_scale)
          .def("4294967296")
          .in(kAboveZero)
          .describe("Starting dynamic loss scale (2^32)."),
      ME_FIELD(mixed_precision, min_loss_scale)
          .def("1.0")
          .in(kAboveZero)
          .describe("Dynamic loss scale floor."),
      ME_FIELD(mixed_precision, loss_scale_window)
          .def("1000")
          .in(kAboveZero)
          .describe("Overflow-free iterations before the dynamic scale doubles."),
      ME_FIELD(mixed_precision, hysteresis)
          .def("2")
          .in(kPositive)
          .describe("Overflows tolerated before the dynamic scale halves."),
      // checkpoint
      ME_FIELD(checkpoint, save).def("null").describe("Directory to save checkpoints to."),
      ME_FIELD(checkpoint, load).def("null").describe("Directory to resume or load from."),
      ME_FIELD(checkpoint, save_interval)
          .def("null")
          .in(kPositive)
          .describe("Save every N iterations; required when save is set."),
      ME_FIELD(checkpoint, no_save_optim)
          .def("false")
          .describe("Leave optimizer state out of saved checkpoints."),
      ME_FIELD(checkpoint, no_save_rng)
          .def("false")
          .describe("Leave RNG state out of saved checkpoints."),
      ME_FIELD(checkpoint, no_load_optim).def("false").describe("Do not load optimizer state."),
      ME_FIELD(checkpoint, no_load_rng).def("false").describe("Do not load RNG state."),
      ME_FIELD(checkpoint, finetune)
          .def("false")
          .describe("Load weights only and restart at iteration 0."),
      ME_FIELD(checkpoint, exit_on_missing_checkpoint)
          .def("false")
          .describe("Fail instead of starting from random weights when load has no checkpoint."),
      ME_FIELD(checkpoint, async_save)
          .def("false")
          .describe("Snapshot tensors to host memory and write the checkpoint in a background "
                    "thread while training continues (still atomic); a later save or the end of "
                    "the run waits for it."),
      // logging
      ME_FIELD(logging, log_interval)
          .def("100")
          .in(kPositive)
          .describe("Print a training log line every N iterations."),
      ME_FIELD(logging, metrics_file)
          .def("null")
          .engine_only()
          .describe("Also append each log line's metrics as JSON lines to this file."),
      ME_FIELD(logging, log_throughput)
          .def("false")
          .describe("Add TFLOP/s per GPU to the log line."),
      ME_FIELD(logging, tensorboard_dir)
          .def("null")
          .describe("Write TensorBoard event files (scalars every log_interval, the resolved "
                    "recipe as text) to this directory."),
      ME_FIELD(logging, log_timers_to_tensorboard)
          .def("false")
          .describe("Also write the per-phase timers to TensorBoard."),
      ME_FIELD(logging, log_straggler)
          .def("false")
          .describe("Every log_interval, log the ranks with the slowest and fastest compute "
                    "(forward + backward + optimizer) time per iteration."),
      ME_FIELD(logging, straggler_minmax_count)
          .def("1")
          .in(kPositive)
          .describe("How many slowest and fastest ranks the straggler line names."),
  };
}

#undef ME_FIELD

}  // namespace

const std::vector<Section>& recipe_sections() {
  static const std::vector<Section> sections = {
      {"model", "Architecture of the transformer."},
      {"parallel", "How the model is split over ranks; data_parallel_size is derived."},
      {"data", "Token datasets and the train/valid/test split."},
      {"tokenizer", "Tokenizer and its files."},
      {"train", "Batch sizes, run length, evaluation cadence, seed and exit conditions."},
      {"optimizer", "Optimizer, learning rate, weight decay and gradient clipping."},
      {"scheduler", "Learning-rate warmup and decay."},
      {"mixed_precision", "Compute precision and loss scaling."},
      {"checkpoint", "Saving and loading checkpoints."},
      {"logging", "Training log output."},
  };
  return sections;
}

const std::vector<Field>& recipe_schema() {
  static const std::vector<Field> schema = build_schema();
  return schema;
}

}  // namespace me
