// Field and Range mechanics behind every schema file: default parsing, range, choice and
// registered-name checks.
#include "engine/recipe/field.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/suggest.h"
#include "engine/registry/registry.h"

namespace me {
namespace {

std::string bound_text(double v) { return fmt::format("{}", v); }

std::optional<double> numeric(const Value& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&value)) return *d;
  return std::nullopt;
}

// `problem` ("is not one of: a, b"), with the nearest allowed value when one is close.
std::string not_among_message(const Field& field, const std::string& value,
                              const std::vector<std::string>& allowed, const std::string& problem) {
  std::string message = fmt::format("'{}' = '{}' {}", field.path(), value, problem);
  if (auto near = closest_match(value, allowed)) {
    message += fmt::format("; did you mean '{}'?", *near);
  }
  return message;
}

}  // namespace

// Every program that loads recipes links the registries they name (the whole engine library).
std::vector<std::string> registered_names(const std::string& kind) {
  auto all = RegistryIndex::instance().all();
  const auto it = all.find(kind);
  ME_CHECK(it != all.end(), "no '{}' registry is linked into this program", kind);
  return it->second;
}

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
  ME_CHECK(c.value, "default '{}' of '{}': {}", yaml, key, c.error);
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

Field& Field::registered(std::string kind) {
  registry_kind = std::move(kind);
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

bool Field::applies_to_model(const std::string& model_type) const {
  return applies_to.empty() ||
         std::find(applies_to.begin(), applies_to.end(), model_type) != applies_to.end();
}

std::string check_allowed(const Field& field, const Value& value) {
  if (auto v = numeric(value); v && !field.range.contains(*v)) {
    return fmt::format("'{}' = {} is out of range: must be {}", field.path(), value_text(value),
                       field.range.text());
  }
  const auto* s = std::get_if<std::string>(&value);
  if (s && !field.choices.empty() &&
      std::find(field.choices.begin(), field.choices.end(), *s) == field.choices.end()) {
    return not_among_message(field, *s, field.choices,
                             fmt::format("is not one of: {}", fmt::join(field.choices, ", ")));
  }
  if (s && !field.registry_kind.empty()) {
    const auto names = registered_names(field.registry_kind);
    if (std::find(names.begin(), names.end(), *s) == names.end()) {
      return not_among_message(field, *s, names,
                               fmt::format("is not a registered {} (known: {})",
                                           field.registry_kind, fmt::join(names, ", ")));
    }
  }
  return "";
}

}  // namespace me
