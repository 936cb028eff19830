// Recipe section `train`: batch sizes, run length, evaluation, seed, exit conditions, recompute and
// the guards and fault-injection switches tests use.
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup train_section() {
  FieldGroup group{.section = "train",
                   .doc = "Batch sizes, run length, evaluation cadence, seed and exit conditions.",
                   .file = __FILE__};
  group.fields = {
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
          .describe("On SIGTERM/SIGINT save a checkpoint and exit. Deviation: Megatron "
                    "defaults to "
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
          .describe("Layers per recompute chunk (uniform) or recomputed layers per stage "
                    "(block)."),
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
  };
  return group;
}

}  // namespace me
