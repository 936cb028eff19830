// The recipe schema: one table of every field (section, Megatron key, type, default, range or
// choices, doc, and the typed-struct member it lands in). Loader, validator, --print-recipe and
// docs/recipes.md all read this table and nothing else.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/recipe/recipe.h"
#include "engine/recipe/value.h"

namespace me {

// Allowed numeric interval; unset ends are unbounded.
struct Range {
  std::optional<double> min, max;
  bool min_open = false, max_open = false;

  static Range at_least(double lo) { return {lo, std::nullopt, false, false}; }
  static Range above(double lo) { return {lo, std::nullopt, true, false}; }
  static Range closed(double lo, double hi) { return {lo, hi, false, false}; }
  static Range half_open(double lo, double hi) { return {lo, hi, false, true}; }

  bool unbounded() const { return !min && !max; }
  bool contains(double v) const;
  std::string text() const;  // ">= 1", "> 0", "[0, 1)"; "" when unbounded
};

struct Field {
  std::string section;
  std::string key;
  ValueType type;
  std::optional<Value> default_value;  // none: the recipe must set it
  Range range;
  std::vector<std::string> choices;  // for strings; empty: any
  std::string doc;
  bool megatron = true;  // false: a megatron-engine field with no Megatron-LM argument
  std::function<void(Recipe&, const Value&)> set;
  std::function<Value(const Recipe&)> get;

  bool required() const { return !default_value; }
  // A required field never takes null, whatever its C++ member type.
  ValueType accepted_type() const { return {type.base, type.optional && !required()}; }
  std::string path() const { return section + "." + key; }

  // Table-building steps; `def` takes the default as YAML text ("0.1", "null", "linear").
  Field& def(std::string_view yaml);
  Field& require();
  Field& in(Range r);
  Field& one_of(std::vector<std::string> allowed);
  Field& describe(std::string text);
  Field& engine_only();
};

struct Section {
  std::string name;
  std::string doc;
};

const std::vector<Section>& recipe_sections();
const std::vector<Field>& recipe_schema();  // in section order, then table order
const Field* find_field(std::string_view section, std::string_view key);
std::vector<std::string> section_keys(std::string_view section);

// Why `value` is not allowed for `field` (range or choices), or "" when it is.
std::string check_allowed(const Field& field, const Value& value);

}  // namespace me
