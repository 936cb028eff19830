// Recipe section `optimizer`: optimizer choice, learning rate, weight decay, clipping and the
// optimizers' hyper-parameters.
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup optimizer_section() {
  FieldGroup group{.section = "optimizer",
                   .doc = "Optimizer, learning rate, weight decay and gradient clipping.",
                   .file = __FILE__};
  group.fields = {
      ME_FIELD(optimizer, optimizer)
          .def("adam")
          .one_of({"adam", "sgd", "muon", "dist_muon", "lion", "soap", "adaptive_muon"})
          .describe("Optimizer; adam is AdamW (decoupled weight decay). Only adam and sgd "
                    "run today."),
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
  };
  return group;
}

}  // namespace me
