// Recipe loading before validation: YAML files with their `base:` chains merged key by key and
// `--set section.key=value` overrides applied, every value keeping where it came from.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "engine/core/error.h"

namespace me {

// Where a key was written: a file with 1-based line and column, or "<command line>" (line 0).
struct Origin {
  std::string file;
  int line = 0;
  int column = 0;

  static Origin of(const std::string& file, const YAML::Mark& mark);
  std::string where() const;  // "file:line:col", or just "file" without a line
};

struct RawEntry {
  std::string key;
  YAML::Node value;
  Origin origin;  // of the key
};

struct RawSection {
  std::string name;
  Origin origin;    // of the section key in the most derived file that has it
  YAML::Node node;  // the section's value when it is not a mapping (reported by the validator)
  bool is_mapping = true;
  std::vector<RawEntry> entries;  // file order; a derived file's key replaces its base's in place
};

struct RawRecipe {
  std::string source;  // the top file or origin name
  std::vector<RawSection> sections;

  RawSection* find(const std::string& name);
  const RawEntry* find(const std::string& section, const std::string& key) const;
};

// Reads `path` and its base chain. Throws ErrorList on unreadable or malformed YAML, a missing
// base file (naming the including file:line) or a base cycle (listing the chain).
RawRecipe load_raw_recipe(const std::string& path);

// The same from text; `base:` is not allowed here (a stored recipe is already flat).
RawRecipe parse_raw_recipe(const std::string& yaml_text, const std::string& origin);

// Applies "section.key=value" overrides (value parsed as YAML) with origin "<command line>".
// Throws ErrorList naming every malformed override.
void apply_overrides(RawRecipe& recipe, const std::vector<std::string>& overrides);

}  // namespace me
