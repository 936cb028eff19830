// The gpt family of the data section: how GPTDataset treats end-of-document tokens inside packed
// samples. Keys stay data.<key>, as in Megatron's arguments.
#include "datasets/gpt_dataset_schema.h"

#include "engine/recipe/family.h"

namespace me {
namespace {

FieldGroup gpt_data_family() {
  FieldGroup group{.section = "data",
                   .family = "gpt",
                   .doc = "End-of-document handling of GPT samples packed across documents.",
                   .applies_to = {"gpt"}};
  group.fields = {
      ME_FAMILY_FIELD(GptDataConfig, eod_mask_loss)
          .def("false")
          .describe("No loss on end-of-document tokens."),
      ME_FAMILY_FIELD(GptDataConfig, reset_position_ids)
          .def("false")
          .describe("Restart position ids after each end-of-document token."),
      ME_FAMILY_FIELD(GptDataConfig, reset_attention_mask)
          .def("false")
          .describe("Attention never crosses an end-of-document token (per-token document ids)."),
  };
  return group;
}

}  // namespace

ME_RECIPE_FAMILY(GptDataConfig, gpt_data_family);

}  // namespace me
