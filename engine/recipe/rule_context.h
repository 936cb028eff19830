// What a cross-field rule sees: the typed recipe, which keys were rejected, and where each key was
// set, so a broken rule is reported at one of its keys.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/recipe/validate.h"

namespace me {

class RuleContext {
 public:
  RuleContext(const FieldCheck& fields, int64_t world_size, std::vector<Error>& errors)
      : fields_(fields), world_size_(world_size), errors_(errors) {}

  const Recipe& r() const { return fields_.recipe; }
  int64_t world_size() const { return world_size_; }

  // False when any key holds a rejected value (its error is already reported).
  bool usable(std::initializer_list<const char*> keys) const {
    for (const char* k : keys) {
      if (fields_.invalid.count(k)) return false;
    }
    return true;
  }

  void fail(std::initializer_list<const char*> keys, std::string message) {
    std::string where = fields_.source;
    for (const char* k : keys) {
      if (auto it = fields_.origins.find(k); it != fields_.origins.end()) {
        where = it->second.where();
        break;
      }
    }
    errors_.emplace_back(std::move(message), where);
  }

  // data_parallel_size, when the world divides evenly.
  std::optional<int64_t> data_parallel_size() const {
    const auto& p = r().parallel;
    const int64_t model_ranks =
        p.tensor_model_parallel_size * p.pipeline_model_parallel_size * p.context_parallel_size;
    if (world_size_ % model_ranks != 0) return std::nullopt;
    return world_size_ / model_ranks;
  }

 private:
  const FieldCheck& fields_;
  int64_t world_size_;
  std::vector<Error>& errors_;
};

}  // namespace me
