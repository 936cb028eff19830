// Recipe section `checkpoint`: where checkpoints are saved and loaded from, and what they hold.
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup checkpoint_section() {
  FieldGroup group{
      .section = "checkpoint", .doc = "Saving and loading checkpoints.", .file = __FILE__};
  group.fields = {
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
  };
  return group;
}

}  // namespace me
