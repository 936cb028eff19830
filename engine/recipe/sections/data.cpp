// Recipe section `data`: the token datasets and the split every dataset shares; dataset-specific
// keys are families declared beside their dataset (datasets/gpt_dataset_schema.cpp).
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup data_section() {
  FieldGroup group{
      .section = "data", .doc = "Token datasets and the train/valid/test split.", .file = __FILE__};
  group.fields = {
      ME_FIELD(data, data_path)
          .def("[]")
          .describe("HDF5 token datasets: [prefix], [w1, p1, w2, p2, ...] or [p1, p2, ...]."),
      ME_FIELD(data, train_data_path)
          .def("[]")
          .describe("Training-split blend, like data_path but the whole files; excludes "
                    "data_path."),
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
  };
  return group;
}

}  // namespace me
