// What every schema file shares: a recipe field (key, type, default, range or choices, doc, and
// the struct member it lands in), the group of fields one file declares, and make_field.
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
  std::string section;  // filled from its FieldGroup when the schema is assembled
  std::string key;
  ValueType type;
  std::optional<Value> default_value;  // none: the recipe must set it
  Range range;
  std::vector<std::string> choices;  // for strings; empty: any
  std::string registry_kind;         // for strings: a name registered under this kind
  std::string doc;
  bool megatron = true;  // false: a megatron-engine field with no Megatron-LM argument
  std::string family;    // "" for a section's common fields; filled from its FieldGroup
  std::vector<std::string> applies_to;  // model.type values the family serves; empty: all
  std::function<void(Recipe&, const Value&)> set;
  std::function<Value(const Recipe&)> get;

  bool required() const { return !default_value; }
  // A required field never takes null, whatever its C++ member type.
  ValueType accepted_type() const { return {type.base, type.optional && !required()}; }
  std::string path() const { return section + "." + key; }
  // Whether this field may be set for a recipe of this model.type.
  bool applies_to_model(const std::string& model_type) const;

  // Table-building steps; `def` takes the default as YAML text ("0.1", "null", "linear").
  Field& def(std::string_view yaml);
  Field& require();
  Field& in(Range r);
  Field& one_of(std::vector<std::string> allowed);
  Field& registered(std::string kind);  // one of RegistryIndex's names of `kind`
  Field& describe(std::string text);
  Field& engine_only();
};

// The fields one file declares: a section's common fields (engine/recipe/sections/), or a
// family's (engine/recipe/family.h), written in `section` like the common ones.
struct FieldGroup {
  std::string section;
  std::string family;  // "" for the section's common fields
  std::string doc;
  std::vector<std::string> applies_to;  // model.type values a family serves; empty: every model
  std::string file;  // the declaring file (its __FILE__; the schema makes it source-relative)
  std::vector<Field> fields;
};

// The ranges most fields use.
inline const Range kPositive = Range::at_least(1);
inline const Range kNonNegative = Range::at_least(0);
inline const Range kAboveZero = Range::above(0);
inline const Range kProbability = Range::half_open(0, 1);

// The names a Field::registered(kind) field accepts (RegistryIndex).
std::vector<std::string> registered_names(const std::string& kind);

// Why `value` is not allowed for `field` (range, choices or registered names), or "" when it is.
std::string check_allowed(const Field& field, const Value& value);

template <class T>
struct TypeOf;
template <>
struct TypeOf<int64_t> {
  static constexpr ValueType kType{FieldType::kInt, false};
};
template <>
struct TypeOf<double> {
  static constexpr ValueType kType{FieldType::kFloat, false};
};
template <>
struct TypeOf<bool> {
  static constexpr ValueType kType{FieldType::kBool, false};
};
template <>
struct TypeOf<std::string> {
  static constexpr ValueType kType{FieldType::kString, false};
};
template <>
struct TypeOf<std::vector<std::string>> {
  static constexpr ValueType kType{FieldType::kStringList, false};
};
template <class T>
struct TypeOf<std::optional<T>> {
  static constexpr ValueType kType{TypeOf<T>::kType.base, true};
};

template <class T>
void assign_value(T& slot, const Value& v) {
  slot = std::get<T>(v);
}
template <class T>
void assign_value(std::optional<T>& slot, const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    slot.reset();
  } else {
    slot = std::get<T>(v);
  }
}

template <class T>
Value read_value(const T& slot) {
  return Value{slot};
}
template <class T>
Value read_value(const std::optional<T>& slot) {
  return slot ? Value{*slot} : Value{std::monostate{}};
}

// A field stored in `member` of the struct `reach` finds in a recipe; `reach` takes Recipe& and
// const Recipe& alike (a generic lambda). The type comes from the member's C++ type.
template <class S, class T, class Reach>
Field make_field(const char* key, T S::*member, Reach reach) {
  Field f;
  f.key = key;
  f.type = TypeOf<T>::kType;
  f.set = [member, reach](Recipe& r, const Value& v) { assign_value(reach(r).*member, v); };
  f.get = [member, reach](const Recipe& r) { return read_value(reach(r).*member); };
  return f;
}

}  // namespace me

// A common field of a core section: ME_FIELD(model, hidden_size) is recipe.model.hidden_size.
#define ME_FIELD(section, key)                     \
  ::me::make_field(                                \
      #key, &decltype(::me::Recipe::section)::key, \
      [](auto& recipe) -> auto& { return recipe.section; })
