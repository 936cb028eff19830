// Recipe section `logging`: the training log line, metrics file, TensorBoard and straggler report.
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup logging_section() {
  FieldGroup group{.section = "logging", .doc = "Training log output.", .file = __FILE__};
  group.fields = {
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
  return group;
}

}  // namespace me
