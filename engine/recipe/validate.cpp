// The schema walk over a RawRecipe. Values are converted strictly and never adjusted: a rejected
// value leaves the default in place and marks the key invalid so cross-field rules skip it.
#include "engine/recipe/validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "engine/core/suggest.h"
#include "engine/recipe/schema.h"

namespace me {
namespace {

std::vector<std::string> section_names() {
  std::vector<std::string> names;
  for (const auto& s : recipe_sections()) names.push_back(s.name);
  return names;
}

// The closest key in any section, as "'key' in 'section'".
std::optional<std::string> suggest_anywhere(const std::string& word) {
  std::vector<std::string> keys;
  for (const auto& f : recipe_schema()) keys.push_back(f.key);
  auto near = closest_match(word, keys);
  if (!near) return std::nullopt;
  for (const auto& f : recipe_schema()) {
    if (f.key == *near) return fmt::format("'{}' in '{}'", f.key, f.section);
  }
  return std::nullopt;
}

std::string unknown_section_message(const std::string& name) {
  std::string message = fmt::format("unknown section '{}'", name);
  if (auto near = closest_match(name, section_names())) {
    return message + fmt::format("; did you mean '{}'?", *near);
  }
  if (auto near = suggest_anywhere(name)) return message + fmt::format("; did you mean {}?", *near);
  return message + fmt::format("; sections are: {}", fmt::join(section_names(), ", "));
}

std::string unknown_key_message(const std::string& section, const std::string& key) {
  std::string message = fmt::format("unknown key '{}' in '{}'", key, section);
  if (auto near = closest_match(key, section_keys(section))) {
    return message + fmt::format("; did you mean '{}'?", *near);
  }
  if (auto near = suggest_anywhere(key)) return message + fmt::format("; did you mean {}?", *near);
  return message + " (docs/recipes.md lists every key)";
}

// An error with its origin, so errors from merged files can be listed by file, line and column.
struct Located {
  Origin origin;
  Error error;
};

void check_entry(const Field& field, const RawEntry& entry, FieldCheck& out,
                 std::vector<Located>& found) {
  const Conversion c = to_value(entry.value, field.accepted_type());
  std::string error =
      c.value ? check_allowed(field, *c.value) : fmt::format("'{}': {}", field.path(), c.error);
  if (!error.empty()) {
    found.push_back({entry.origin, Error(std::move(error), entry.origin.where())});
    out.invalid.insert(field.path());
    return;
  }
  field.set(out.recipe, *c.value);
  out.origins[field.path()] = entry.origin;
}

// A family key set for a model.type the family does not serve. Checked after every section is
// read, since model: may come after the family's section; skipped when model.type is rejected.
void check_applies_to_model(const RawRecipe& raw, FieldCheck& out, std::vector<Located>& found) {
  if (out.invalid.count("model.type")) return;
  const std::string& model_type = out.recipe.model.type;
  for (const auto& section : raw.sections) {
    for (const auto& entry : section.entries) {
      const Field* field = find_field(section.name, entry.key);
      if (!field || field->applies_to_model(model_type) || out.invalid.count(field->path())) {
        continue;
      }
      found.push_back(
          {entry.origin, Error(fmt::format("'{}' (family {} of '{}') applies to model.type {}, not "
                                           "'{}'",
                                           field->path(), field->family, field->section,
                                           fmt::join(field->applies_to, ", "), model_type),
                               entry.origin.where())});
      out.invalid.insert(field->path());
    }
  }
}

void check_section(const RawSection& section, FieldCheck& out, std::vector<Located>& found) {
  const Origin& at = section.origin;
  if (section_keys(section.name).empty()) {
    found.push_back({at, Error(unknown_section_message(section.name), at.where())});
    return;
  }
  if (!section.is_mapping) {
    found.push_back({at, Error(fmt::format("section '{}' must be a mapping of keys, got {}",
                                           section.name, describe_node(section.node)),
                               at.where())});
  }
  for (const auto& entry : section.entries) {
    if (const Field* field = find_field(section.name, entry.key)) {
      check_entry(*field, entry, out, found);
    } else {
      found.push_back({entry.origin,
                       Error(unknown_key_message(section.name, entry.key), entry.origin.where())});
    }
  }
}

// Where to report a missing key: its section in the recipe if written there, else the file.
std::string missing_where(const RawRecipe& raw, const std::string& section) {
  for (const auto& s : raw.sections) {
    if (s.name == section && s.origin.line > 0) return s.origin.where();
  }
  return raw.source;
}

}  // namespace

FieldCheck check_fields(const RawRecipe& raw) {
  FieldCheck out;
  out.source = raw.source;
  for (const auto& field : recipe_schema()) {
    if (field.default_value) field.set(out.recipe, *field.default_value);
  }
  std::vector<Located> found;
  for (const auto& section : raw.sections) check_section(section, out, found);
  check_applies_to_model(raw, out, found);
  std::stable_sort(found.begin(), found.end(), [](const Located& a, const Located& b) {
    return std::tie(a.origin.file, a.origin.line, a.origin.column) <
           std::tie(b.origin.file, b.origin.line, b.origin.column);
  });
  for (auto& f : found) out.errors.push_back(std::move(f.error));
  for (const auto& field : recipe_schema()) {
    if (field.required() && !out.origins.count(field.path()) && !out.invalid.count(field.path())) {
      out.errors.emplace_back(
          fmt::format("missing required key '{}' in '{}'", field.key, field.section),
          missing_where(raw, field.section));
      out.invalid.insert(field.path());
    }
  }
  return out;
}

}  // namespace me
