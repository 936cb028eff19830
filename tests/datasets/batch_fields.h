// Checks that a dataset's batch() yields exactly the fields() it declares, each (B, shape...).
#pragma once

#include <doctest/doctest.h>

#include <vector>

#include "datasets/dataset.h"

namespace me::testing {

inline void check_batch_yields_fields(const Dataset& dataset, const std::vector<int64_t>& indices) {
  const Batch batch = dataset.batch(indices);
  const std::vector<TensorSpec> fields = dataset.fields();
  CHECK(batch.tensors.size() == fields.size());
  for (const TensorSpec& field : fields) {
    INFO("field '" << field.name << "' " << describe_spec(field));
    REQUIRE(batch.tensors.count(field.name) == 1);
    Shape shape{static_cast<int64_t>(indices.size())};
    shape.insert(shape.end(), field.shape.begin(), field.shape.end());
    CHECK(batch.at(field.name).shape() == shape);
    CHECK(batch.at(field.name).dtype() == field.dtype);
  }
}

}  // namespace me::testing
