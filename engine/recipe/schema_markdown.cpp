// recipe_schema_markdown: docs/recipes.md, generated from the schema so it cannot drift
// (tests/engine/recipe/schema_markdown_test.cpp compares the committed file with it).
#include <fmt/format.h>

#include "engine/recipe/recipe.h"
#include "engine/recipe/schema.h"

namespace me {
namespace {

constexpr const char* kIntro = R"(# Recipes

<!-- Generated from the schema (engine/recipe/sections/ and every registered family) by
     recipe_schema_markdown(); do not edit by hand.
     tests/engine/recipe/schema_markdown_test.cpp fails when this file is stale and says how to
     regenerate it. -->

A recipe is a YAML file of sections (`model:`, `train:`, ...) whose keys are Megatron-LM's
argument names, with Megatron-LM's defaults unless a row says otherwise. Rows marked
*(megatron-engine)* have no Megatron-LM argument.

- `base: other.yaml` (path relative to the including file) loads that recipe first; this file then
  overrides it key by key within each section. Bases may chain; a cycle is an error.
- `--set section.key=value` overrides any key after the files; the value is YAML
  (`--set data.data_path=[a.h5,b.h5]`, `--set optimizer.lr=1e-4`).
- Every problem is reported at once, one line each, as `file:line:column: error: message`:
  unknown sections and keys (with the nearest valid key), wrong types (`3.5` is not an int and a
  quoted `"3"` is a string), values out of range or not among the choices, missing required keys,
  and broken combinations (for example `hidden_size % num_attention_heads`,
  `global_batch_size % (micro_batch_size * data_parallel_size)`, `min_lr <= lr`). Settings the
  engine cannot run yet (context parallelism, half precision on the CPU, ...) are errors that say
  so, never silently ignored.
- Some keys belong to a *family*: the keys of one dataset or model kind, declared beside the code
  that reads them (each table below names its file) and written in their section like any other
  key. A family may serve only some `model.type` values; setting one of its keys for another
  model type is an error.
- Validation never changes a value. Derived values (`data_parallel_size = world_size / (tp * pp *
  cp)`, `global_batch_size` defaulting to `micro_batch_size * data_parallel_size`,
  `num_microbatches`, `ffn_hidden_size`, `kv_channels`, `num_query_groups`) are computed afterwards
  and printed under `derived:` by `--print-recipe`; a `derived:` block is ignored when a recipe is
  read.
)";

std::string cell(std::string text) {
  std::string out;
  for (char ch : text) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

std::string default_cell(const Field& field) {
  if (field.required()) return "**required**";
  std::string out = "`";  // appended, not chained: GCC 12 warns falsely on "`" + s + "`"
  out += cell(value_text(*field.default_value));
  out += '`';
  return out;
}

std::string allowed_cell(const Field& field) {
  std::string out;
  for (const auto& c : field.choices) out += (out.empty() ? "" : ", ") + ("`" + c + "`");
  if (!field.registry_kind.empty()) {
    for (const auto& name : registered_names(field.registry_kind)) {
      out += (out.empty() ? "" : ", ") + ("`" + name + "`");
    }
    out += " (registered " + field.registry_kind + " names)";
  }
  return out.empty() ? cell(field.range.text()) : out;
}

std::string group_heading(const FieldGroup& group) {
  if (group.family.empty()) {
    return fmt::format("## {}\n\n{} Declared in `{}`.", group.section, group.doc, group.file);
  }
  const std::string serves =
      group.applies_to.empty()
          ? std::string("every `model.type`")
          : fmt::format("`model.type` `{}`", fmt::join(group.applies_to, "`, `"));
  return fmt::format("### {}, family {}\n\n{} For {}. Declared in `{}`.", group.section,
                     group.family, group.doc, serves, group.file);
}

}  // namespace

std::string recipe_schema_markdown() {
  std::string out = kIntro;
  for (const auto& group : recipe_field_groups()) {
    // Families a test program registers are not keys megatron-engine accepts.
    if (group.file.starts_with("tests/")) continue;
    out += fmt::format("\n{}\n\n", group_heading(group));
    out += "| key | type | default | range / choices | doc |\n";
    out += "|---|---|---|---|---|\n";
    for (const auto& field : group.fields) {
      out += fmt::format("| `{}` | {} | {} | {} | {}{} |\n", field.key,
                         type_name(field.accepted_type()), default_cell(field), allowed_cell(field),
                         field.megatron ? "" : "*(megatron-engine)* ", cell(field.doc));
    }
  }
  return out;
}

}  // namespace me
