// Recipe section `parallel`: tensor, pipeline, context and data parallelism and the gradient
// buckets.
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup parallel_section() {
  FieldGroup group{.section = "parallel",
                   .doc = "How the model is split over ranks; data_parallel_size is derived.",
                   .file = __FILE__};
  group.fields = {
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
  };
  return group;
}

}  // namespace me
