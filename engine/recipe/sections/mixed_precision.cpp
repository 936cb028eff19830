// Recipe section `mixed_precision`: bf16/fp16 compute and loss scaling.
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup mixed_precision_section() {
  FieldGroup group{
      .section = "mixed_precision", .doc = "Compute precision and loss scaling.", .file = __FILE__};
  group.fields = {
      ME_FIELD(mixed_precision, bf16)
          .def("false")
          .describe("bf16 compute, fp32 master weights; needs train.device cuda."),
      ME_FIELD(mixed_precision, fp16)
          .def("false")
          .describe("fp16 compute with loss scaling, fp32 master weights; needs "
                    "train.device cuda."),
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
  };
  return group;
}

}  // namespace me
