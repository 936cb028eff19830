// Assembles the schema once, on first use: the core sections in their fixed order, each followed
// by its registered families sorted by name, with every field's section, family and applies-to
// filled in from its group. A family's keys must not collide with any other key of its section.
#include "engine/recipe/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "engine/core/error.h"
#include "engine/recipe/family.h"
#include "engine/recipe/sections/sections.h"

namespace me {
namespace {

constexpr FieldGroup (*kCoreSections[])() = {
    model_section,      parallel_section,  data_section,      tokenizer_section,
    train_section,      optimizer_section, scheduler_section, mixed_precision_section,
    checkpoint_section, logging_section,
};

// `file` (a __FILE__) relative to the source root. Every file is compiled with the same root
// prefix (absolute, or relative to the build directory under ccache's base_dir), which this
// file's own __FILE__ reveals.
std::string source_relative(std::string_view file) {
  constexpr std::string_view kThisFile = __FILE__;
  constexpr std::string_view kFromRoot = "engine/recipe/schema.cpp";
  static_assert(kThisFile.ends_with(kFromRoot));
  constexpr std::string_view kRoot = kThisFile.substr(0, kThisFile.size() - kFromRoot.size());
  return std::string(file.starts_with(kRoot) ? file.substr(kRoot.size()) : file);
}

// The families of each section, sorted by name; a family's section must be a core one.
std::map<std::string, std::vector<FieldGroup>> families_by_section(
    const std::vector<FieldGroup>& core) {
  std::map<std::string, std::vector<FieldGroup>> out;
  for (const auto& registered : registered_families()) {
    FieldGroup family = registered.build();
    family.file = source_relative(registered.file);
    ME_CHECK(!family.family.empty(), "the family declared in {} has no name", family.file);
    ME_CHECK(std::any_of(core.begin(), core.end(),
                         [&](const FieldGroup& g) { return g.section == family.section; }),
             "family '{}' ({}) is in unknown section '{}'", family.family, family.file,
             family.section);
    out[family.section].push_back(std::move(family));
  }
  for (auto& [section, families] : out) {
    std::sort(families.begin(), families.end(),
              [](const FieldGroup& a, const FieldGroup& b) { return a.family < b.family; });
    for (size_t i = 1; i < families.size(); ++i) {
      ME_CHECK(families[i - 1].family != families[i].family,
               "family '{}' of '{}' registered twice: in {} and in {}", families[i].family, section,
               families[i - 1].file, families[i].file);
    }
  }
  return out;
}

// One key, one member: a key declared twice in a section (by a family or not) is a bug.
void check_unique_keys(const std::vector<FieldGroup>& groups) {
  std::map<std::string, const FieldGroup*> declared_by;
  for (const auto& group : groups) {
    for (const auto& field : group.fields) {
      const auto [it, inserted] = declared_by.emplace(field.path(), &group);
      ME_CHECK(inserted, "recipe key '{}' declared twice: in {} and in {}", field.path(),
               it->second->file, group.file);
    }
  }
}

std::vector<FieldGroup> assemble_groups() {
  std::vector<FieldGroup> core;
  for (auto build : kCoreSections) {
    core.push_back(build());
    core.back().file = source_relative(core.back().file);
  }
  auto families = families_by_section(core);
  std::vector<FieldGroup> groups;
  for (auto& section : core) {
    groups.push_back(std::move(section));
    for (auto& family : families[groups.back().section]) groups.push_back(std::move(family));
  }
  for (auto& group : groups) {
    for (auto& field : group.fields) {
      field.section = group.section;
      field.family = group.family;
      field.applies_to = group.applies_to;
    }
  }
  check_unique_keys(groups);
  return groups;
}

}  // namespace

const std::vector<FieldGroup>& recipe_field_groups() {
  static const std::vector<FieldGroup> groups = assemble_groups();
  return groups;
}

const std::vector<Section>& recipe_sections() {
  static const std::vector<Section> sections = [] {
    std::vector<Section> out;
    for (const auto& group : recipe_field_groups()) {
      if (group.family.empty()) out.push_back({group.section, group.doc});
    }
    return out;
  }();
  return sections;
}

const std::vector<Field>& recipe_schema() {
  static const std::vector<Field> schema = [] {
    std::vector<Field> out;
    for (const auto& group : recipe_field_groups()) {
      out.insert(out.end(), group.fields.begin(), group.fields.end());
    }
    return out;
  }();
  return schema;
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
