// Recipe entry points: load (files, base chains, overrides) or parse (stored text), then validate
// fields and cross-field rules, and resolve derived values.
#include "engine/recipe/recipe.h"

#include <fmt/format.h>

#include <tuple>

#include "engine/core/error.h"
#include "engine/recipe/raw_recipe.h"
#include "engine/recipe/rules.h"
#include "engine/recipe/schema.h"
#include "engine/recipe/validate.h"

namespace me {
namespace {

Recipe validate_and_resolve(const RawRecipe& raw, int64_t world_size,
                            RecipePurpose purpose = RecipePurpose::kTrain) {
  if (world_size < 1) {
    throw ErrorList({Error(fmt::format("world size must be >= 1, got {}", world_size))});
  }
  FieldCheck fields = check_fields(raw);
  check_rules(fields, world_size, fields.errors);
  if (purpose == RecipePurpose::kTrain) check_unsupported(fields, world_size, fields.errors);
  if (!fields.errors.empty()) throw ErrorList(std::move(fields.errors));
  Recipe recipe = std::move(fields.recipe);
  recipe.source = raw.source;
  recipe.derived = resolve(recipe, world_size);
  return recipe;
}

}  // namespace

// Member-wise equality, defaulted here so recipe.h stays C++17 for the CUDA sources.
bool ModelConfig::operator==(const ModelConfig&) const = default;
bool ParallelConfig::operator==(const ParallelConfig&) const = default;
bool DataConfig::operator==(const DataConfig&) const = default;
bool TokenizerConfig::operator==(const TokenizerConfig&) const = default;
bool TrainConfig::operator==(const TrainConfig&) const = default;
bool OptimizerConfig::operator==(const OptimizerConfig&) const = default;
bool SchedulerConfig::operator==(const SchedulerConfig&) const = default;
bool MixedPrecisionConfig::operator==(const MixedPrecisionConfig&) const = default;
bool CheckpointConfig::operator==(const CheckpointConfig&) const = default;
bool LoggingConfig::operator==(const LoggingConfig&) const = default;
bool DerivedConfig::operator==(const DerivedConfig&) const = default;

bool Recipe::operator==(const Recipe& other) const {
  const auto core = [](const Recipe& r) {
    return std::tie(r.model, r.parallel, r.data, r.tokenizer, r.train, r.optimizer, r.scheduler,
                    r.mixed_precision, r.checkpoint, r.logging, r.derived, r.source);
  };
  if (core(*this) != core(other)) return false;
  // This room cannot see the family structs' types, but their fields read them.
  for (const auto& field : recipe_schema()) {
    if (!field.family.empty() && field.get(*this) != field.get(other)) return false;
  }
  return true;
}

DerivedConfig resolve(const Recipe& recipe, int64_t world_size) {
  const auto& p = recipe.parallel;
  const auto& m = recipe.model;
  DerivedConfig d;
  d.world_size = world_size;
  d.data_parallel_size = world_size / (p.tensor_model_parallel_size *
                                       p.pipeline_model_parallel_size * p.context_parallel_size);
  const int64_t samples_per_microbatch_step = recipe.train.micro_batch_size * d.data_parallel_size;
  d.global_batch_size = recipe.train.global_batch_size.value_or(samples_per_microbatch_step);
  d.num_microbatches = d.global_batch_size / samples_per_microbatch_step;
  // Megatron: 4h, or with swiglu int((4h * 2/3) / 64) * 64 so the gated MLP keeps about the
  // same parameter count.
  const int64_t default_ffn = m.swiglu ? (8 * m.hidden_size / 3) / 64 * 64 : 4 * m.hidden_size;
  d.ffn_hidden_size = m.ffn_hidden_size.value_or(default_ffn);
  d.kv_channels = m.kv_channels.value_or(m.hidden_size / m.num_attention_heads);
  d.num_query_groups = m.group_query_attention ? m.num_query_groups : m.num_attention_heads;
  return d;
}

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides,
                   int64_t world_size, RecipePurpose purpose) {
  RawRecipe raw = load_raw_recipe(path);
  apply_overrides(raw, overrides);
  return validate_and_resolve(raw, world_size, purpose);
}

Recipe parse_recipe(const std::string& yaml_text, const std::string& origin, int64_t world_size) {
  return validate_and_resolve(parse_raw_recipe(yaml_text, origin), world_size);
}

}  // namespace me
