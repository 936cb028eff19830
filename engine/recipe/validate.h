// Field-level validation: every key of a RawRecipe checked against the schema (unknown section or
// key, wrong type, out of range, not in choices or not registered, missing required, a family's
// key under a model.type it does not serve), collecting every error.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/recipe/raw_recipe.h"
#include "engine/recipe/recipe.h"

namespace me {

struct FieldCheck {
  Recipe recipe{};                        // schema defaults, then every accepted value
  std::vector<Error> errors;              // by file, line, column; then missing required keys
  std::set<std::string> invalid;          // "section.key" rejected or missing
  std::map<std::string, Origin> origins;  // "section.key" -> where it was set
  std::string source;                     // the top recipe file, for errors with no key
};

FieldCheck check_fields(const RawRecipe& raw);

}  // namespace me
