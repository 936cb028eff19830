// recipe_to_yaml: every field of every section (defaults included, unset optionals as null; family
// fields where the family serves the model.type) plus the derived values, in schema order;
// parse_recipe reads it back to an equal Recipe.
#include <fmt/format.h>

#include "engine/recipe/recipe.h"
#include "engine/recipe/schema.h"

namespace me {
namespace {

void emit_derived(YAML::Emitter& out, const DerivedConfig& d) {
  out << YAML::Key << "derived" << YAML::Comment("computed by resolve(); ignored when parsed");
  out << YAML::Value << YAML::BeginMap;
  const std::pair<const char*, int64_t> values[] = {
      {"world_size", d.world_size},
      {"data_parallel_size", d.data_parallel_size},
      {"global_batch_size", d.global_batch_size},
      {"num_microbatches", d.num_microbatches},
      {"ffn_hidden_size", d.ffn_hidden_size},
      {"kv_channels", d.kv_channels},
      {"num_query_groups", d.num_query_groups},
  };
  for (const auto& [key, value] : values) out << YAML::Key << key << YAML::Value << value;
  out << YAML::EndMap;
}

}  // namespace

std::string recipe_to_yaml(const Recipe& recipe) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& section : recipe_sections()) {
    out << YAML::Key << section.name << YAML::Value << YAML::BeginMap;
    for (const auto& field : recipe_schema()) {
      // A family that does not serve this model.type holds its defaults and could not be read
      // back: leave it out.
      if (field.section != section.name || !field.applies_to_model(recipe.model.type)) continue;
      out << YAML::Key << field.key << YAML::Value;
      emit_value(out, field.get(recipe));
    }
    out << YAML::EndMap;
  }
  emit_derived(out, recipe.derived);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace me
