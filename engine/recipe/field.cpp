// Field and Range mechanics behind the schema table: default parsing, range/choice checks.
#include <fmt/format.h>

#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/suggest.h"
#include "engine/recipe/schema.h"

namespace me {
namespace {

std::string bound_text(double v) { return fmt::format("{}", v); }

std::optional<double> numeric(const Value& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&value)) return *d;
  return std::nullopt;
}

}  // namespace

bool Range::contains(double v) const {
  if (min && (min_open ? v <= *min : v < *min)) return false;
  if (max && (max_open ? v >= *max : v > *max)) return false;
  return true;
}

std::string Range::text() const {
  if (min && max) {
    return fmt::format("{}{}, {}{}", min_open ? "(" : "[", bound_text(*min), bound_text(*max),
                       max_open ? ")" : "]");
  }
  if (min) return fmt::format("{} {}", min_open ? ">" : ">=", bound_text(*min));
  if (max) return fmt::format("{} {}", max_open ? "<" : "<=", bound_text(*max));
  return "";
}

Field& Field::def(std::string_view yaml) {
  const Conversion c = to_value(YAML::Load(std::string(yaml)), type);
  ME_CHECK(c.value, "default '{}' of {}: {}", yaml, path(), c.error);
  default_value = c.value;
  return *this;
}

Field& Field::require() {
  default_value.reset();
  return *this;
}

Field& Field::in(Range r) {
  range = r;
  return *this;
}

Field& Field::one_of(std::vector<std::string> allowed) {
  choices = std::move(allowed);
  return *this;
}

Field& Field::describe(std::string text) {
  doc = std::move(text);
  return *this;
}

Field& Field::engine_only() {
  megatron = false;
  return *this;
}

std::string check_allowed(const Field& field, const Value& value) {
  if (auto v = numeric(value); v && !field.range.contains(*v)) {
    return fmt::format("'{}' = {} is out of range: must be {}", field.path(), value_text(value),
                       field.range.text());
  }
  const auto* s = std::get_if<std::string>(&value);
  if (s && !field.choices.empty() &&
      std::find(field.choices.begin(), field.choices.end(), *s) == field.choices.end()) {
    std::string message = fmt::format("'{}' = '{}' is not one of: {}", field.path(), *s,
                                      fmt::join(field.choices, ", "));
    if (auto near = closest_match(*s, field.choices)) {
      message += fmt::format("; did you mean '{}'?", *near);
    }
    return message;
  }
  return "";
}

const Field* find_field(std::string_view section, std::string_view key) {
  for (const auto& f : recipe_schema()) {
    if (f.section == section && f.key == key) return &f;
  }
  return nullptr;
}

std::vector<std::string> section_keys(std::string_view section) {
  std::vector<std::string> keys;
  for (const auto& f : recipe_schema()) {
    if (f.section == section) keys.push_back(f.key);
  }
  return keys;
}

}  // namespace me
