// The recipe schema: the core sections' fields (one file each under engine/recipe/sections/) and
// every registered family's (engine/recipe/family.h), assembled once. Loader, validator,
// --print-recipe and docs/recipes.md all read it and nothing else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/recipe/field.h"

namespace me {

struct Section {
  std::string name;
  std::string doc;
};

const std::vector<Section>& recipe_sections();
// Per section, in recipe_sections() order: its common fields, then its families by name.
const std::vector<FieldGroup>& recipe_field_groups();
const std::vector<Field>& recipe_schema();  // every group's fields, in group order
const Field* find_field(std::string_view section, std::string_view key);
std::vector<std::string> section_keys(std::string_view section);

}  // namespace me
