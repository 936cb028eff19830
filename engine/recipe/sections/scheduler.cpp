// Recipe section `scheduler`: learning-rate warmup and decay.
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup scheduler_section() {
  FieldGroup group{
      .section = "scheduler", .doc = "Learning-rate warmup and decay.", .file = __FILE__};
  group.fields = {
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
  };
  return group;
}

}  // namespace me
