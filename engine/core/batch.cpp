// The batch contract check and the row copy a blend of datasets assembles its batches with.
#include "engine/core/batch.h"

#include <fmt/format.h>

#include "engine/core/error.h"

namespace me {

std::string describe_spec(const TensorSpec& spec) {
  return fmt::format("{} {}", dtype_name(spec.dtype), shape_str(spec.shape));
}

int64_t spec_bytes(const TensorSpec& spec) {
  return shape_numel(spec.shape) * static_cast<int64_t>(dtype_size(spec.dtype));
}

void check_batch_contract(const std::vector<TensorSpec>& consumed,
                          const std::vector<TensorSpec>& provided, const std::string& consumer,
                          const std::string& provider) {
  std::vector<Error> mismatches;
  for (const TensorSpec& want : consumed) {
    const TensorSpec* have = nullptr;
    for (const TensorSpec& p : provided) {
      if (p.name == want.name) have = &p;
    }
    if (!have) {
      if (!want.required) continue;
      mismatches.emplace_back(fmt::format("{} reads '{}' ({}) but {} does not yield it", consumer,
                                          want.name, describe_spec(want), provider));
    } else if (have->dtype != want.dtype || have->shape != want.shape) {
      mismatches.emplace_back(fmt::format("{} reads '{}' ({}) but {} yields '{}' as {}", consumer,
                                          want.name, describe_spec(want), provider, want.name,
                                          describe_spec(*have)));
    }
  }
  if (!mismatches.empty()) throw ErrorList(std::move(mismatches));
}

Batch allocate_batch(const std::vector<TensorSpec>& fields, int64_t batch_size) {
  Batch out;
  for (const TensorSpec& field : fields) {
    Shape shape{batch_size};
    shape.insert(shape.end(), field.shape.begin(), field.shape.end());
    out.tensors[field.name] = Tensor::empty(shape, field.dtype);
  }
  return out;
}

void copy_batch_rows(const Batch& from, const std::vector<int64_t>& rows, Batch& into) {
  for (const auto& [name, source] : from.tensors) {
    auto found = into.tensors.find(name);
    ME_CHECK(found != into.tensors.end(), "the target batch has no tensor '{}'", name);
    Tensor& target = found->second;
    ME_CHECK(source.ndim() >= 1 && source.dim(0) == static_cast<int64_t>(rows.size()) &&
                 source.dtype() == target.dtype() && source.ndim() == target.ndim(),
             "rows of {} do not fit {} for '{}'", source.describe(), target.describe(), name);
    const Shape row_shape(source.shape().begin() + 1, source.shape().end());
    ME_CHECK(Shape(target.shape().begin() + 1, target.shape().end()) == row_shape,
             "rows of {} do not fit {} for '{}'", source.describe(), target.describe(), name);
    const int64_t row_numel = shape_numel(row_shape);
    for (size_t k = 0; k < rows.size(); ++k) {
      ME_CHECK(rows[k] >= 0 && rows[k] < target.dim(0), "row {} outside {}", rows[k],
               target.describe());
      target.view(rows[k] * row_numel, row_shape)
          .copy_from(source.view(static_cast<int64_t>(k) * row_numel, row_shape));
    }
  }
}

}  // namespace me
