// Loads recipe YAML into a RawRecipe: base chains (child overrides base key by key), overrides
// from the command line, and the origin of every key for error messages.
#include "engine/recipe/raw_recipe.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace me {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCommandLine = "<command line>";

YAML::Node parse_yaml(const std::string& text, const std::string& name) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ErrorList({Error("invalid YAML: " + e.msg, Origin::of(name, e.mark).where())});
  }
}

YAML::Node read_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ErrorList({Error("cannot read recipe file", path)});
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node doc = parse_yaml(text.str(), path);
  if (!doc.IsNull() && !doc.IsMap()) {
    throw ErrorList({Error("a recipe must be a mapping of sections (model:, train:, ...)",
                           Origin::of(path, doc.Mark()).where())});
  }
  return doc;
}

void set_entry(RawSection& section, RawEntry entry) {
  for (auto& e : section.entries) {
    if (e.key == entry.key) {
      e = std::move(entry);
      return;
    }
  }
  section.entries.push_back(std::move(entry));
}

RawSection& section_for(RawRecipe& recipe, const std::string& name, const Origin& origin) {
  if (RawSection* s = recipe.find(name)) {
    s->origin = origin;
    return *s;
  }
  recipe.sections.push_back(RawSection{name, origin, {}, true, {}});
  return recipe.sections.back();
}

// A key seen twice in one mapping: yaml-cpp keeps both, a reader would only see one.
void check_duplicate(std::vector<std::pair<std::string, Origin>>& seen, const std::string& key,
                     const Origin& origin, std::vector<Error>& errors) {
  for (const auto& [k, o] : seen) {
    if (k == key) {
      errors.emplace_back(fmt::format("duplicate key '{}' (first at {})", key, o.where()),
                          origin.where());
      return;
    }
  }
  seen.emplace_back(key, origin);
}

// Merges one document's sections into `into`; `base` and `derived` (a printed recipe's
// derived values) are not sections.
void merge_document(RawRecipe& into, const YAML::Node& doc, const std::string& file,
                    std::vector<Error>& errors) {
  if (doc.IsNull()) return;
  std::vector<std::pair<std::string, Origin>> seen_sections;
  for (const auto& item : doc) {
    const std::string name = item.first.Scalar();
    const Origin origin = Origin::of(file, item.first.Mark());
    check_duplicate(seen_sections, name, origin, errors);
    if (name == "base" || name == "derived") continue;
    RawSection& section = section_for(into, name, origin);
    const YAML::Node& body = item.second;
    if (body.IsNull()) continue;
    if (!body.IsMap()) {
      section.is_mapping = false;
      section.node = body;
      continue;
    }
    std::vector<std::pair<std::string, Origin>> seen_keys;
    for (const auto& kv : body) {
      const Origin key_origin = Origin::of(file, kv.first.Mark());
      check_duplicate(seen_keys, kv.first.Scalar(), key_origin, errors);
      set_entry(section, RawEntry{kv.first.Scalar(), kv.second, key_origin});
    }
  }
}

// The `base:` entry of a document, if any.
std::optional<std::pair<YAML::Node, YAML::Node>> find_base(const YAML::Node& doc) {
  if (!doc.IsMap()) return std::nullopt;
  for (const auto& item : doc) {
    if (item.first.Scalar() == "base") return std::make_pair(item.first, item.second);
  }
  return std::nullopt;
}

RawRecipe load_chain(const std::string& path, std::vector<std::string>& chain,
                     std::vector<std::string>& canonical_chain) {
  const YAML::Node doc = read_yaml_file(path);
  chain.push_back(path);
  canonical_chain.push_back(fs::weakly_canonical(path).string());
  RawRecipe recipe;
  if (auto base = find_base(doc)) {
    const Origin where = Origin::of(path, base->first.Mark());
    if (!base->second.IsScalar() || base->second.Scalar().empty()) {
      throw ErrorList({Error("'base' must name a recipe file", where.where())});
    }
    const std::string base_path =
        (fs::path(path).parent_path() / base->second.Scalar()).lexically_normal().string();
    const std::string canonical = fs::weakly_canonical(base_path).string();
    for (size_t i = 0; i < canonical_chain.size(); ++i) {
      if (canonical_chain[i] == canonical) {
        throw ErrorList(
            {Error(fmt::format("base cycle: {} -> {}", fmt::join(chain, " -> "), chain[i]),
                   where.where())});
      }
    }
    if (!fs::is_regular_file(base_path)) {
      throw ErrorList({Error(
          fmt::format("base file '{}' not found (looked for {})", base->second.Scalar(), base_path),
          where.where())});
    }
    recipe = load_chain(base_path, chain, canonical_chain);
  }
  std::vector<Error> errors;
  merge_document(recipe, doc, path, errors);
  if (!errors.empty()) throw ErrorList(std::move(errors));
  recipe.source = path;
  return recipe;
}

}  // namespace

Origin Origin::of(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

std::string Origin::where() const {
  return line > 0 ? fmt::format("{}:{}:{}", file, line, column) : file;
}

RawSection* RawRecipe::find(const std::string& name) {
  for (auto& s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const RawEntry* RawRecipe::find(const std::string& section, const std::string& key) const {
  for (const auto& s : sections) {
    if (s.name != section) continue;
    for (const auto& e : s.entries) {
      if (e.key == key) return &e;
    }
  }
  return nullptr;
}

RawRecipe load_raw_recipe(const std::string& path) {
  std::vector<std::string> chain, canonical_chain;
  return load_chain(path, chain, canonical_chain);
}

RawRecipe parse_raw_recipe(const std::string& yaml_text, const std::string& origin) {
  const YAML::Node doc = parse_yaml(yaml_text, origin);
  if (!doc.IsNull() && !doc.IsMap()) {
    throw ErrorList({Error("a recipe must be a mapping of sections (model:, train:, ...)",
                           Origin::of(origin, doc.Mark()).where())});
  }
  if (auto base = find_base(doc)) {
    throw ErrorList({Error("'base' is only allowed in recipe files, not in " + origin,
                           Origin::of(origin, base->first.Mark()).where())});
  }
  RawRecipe recipe;
  std::vector<Error> errors;
  merge_document(recipe, doc, origin, errors);
  if (!errors.empty()) throw ErrorList(std::move(errors));
  recipe.source = origin;
  return recipe;
}

void apply_overrides(RawRecipe& recipe, const std::vector<std::string>& overrides) {
  std::vector<Error> errors;
  const Origin origin{kCommandLine, 0, 0};
  for (const auto& text : overrides) {
    const size_t eq = text.find('=');
    const size_t dot = text.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 >= eq) {
      errors.emplace_back(fmt::format("malformed override '{}': expected section.key=value, "
                                      "e.g. train.train_iters=100",
                                      text),
                          kCommandLine);
      continue;
    }
    YAML::Node value;
    try {
      value = YAML::Load(text.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      errors.emplace_back(fmt::format("override '{}': value is not valid YAML: {}", text, e.msg),
                          kCommandLine);
      continue;
    }
    const std::string name = text.substr(0, dot);
    RawSection* section = recipe.find(name);
    if (!section) {
      recipe.sections.push_back(RawSection{name, origin, {}, true, {}});
      section = &recipe.sections.back();
    }
    set_entry(*section, RawEntry{text.substr(dot + 1, eq - dot - 1), value, origin});
  }
  if (!errors.empty()) throw ErrorList(std::move(errors));
}

}  // namespace me
