// Recipe families: fields a higher room (datasets/, engine/models/...) declares beside the code
// that reads them, in its own config struct read as recipe.family<Config>(), registered with one
// ME_RECIPE_FAMILY line. Keys are written inside an existing section: data.eod_mask_loss.
#pragma once

#include <typeindex>
#include <typeinfo>
#include <vector>

#include "engine/recipe/field.h"
#include "engine/registry/registry.h"

namespace me {

// A family as registered: its config type, the function building its FieldGroup (called when the
// schema is first assembled, after static initialisation) and the file declaring it.
struct RegisteredFamily {
  std::type_index config;
  FieldGroup (*build)();
  const char* file;
};

// Every registered family, in registration order (unspecified across files; the schema sorts).
const std::vector<RegisteredFamily>& registered_families();

// The static object one ME_RECIPE_FAMILY line creates.
struct FamilyRegistration {
  FamilyRegistration(std::type_index config, FieldGroup (*build)(), const char* file);
};

}  // namespace me

// A family field: ME_FAMILY_FIELD(GptDataConfig, eod_mask_loss) is stored in
// recipe.family<GptDataConfig>().eod_mask_loss.
#define ME_FAMILY_FIELD(Config, key) \
  ::me::make_field(                  \
      #key, &Config::key, [](auto& recipe) -> auto& { return recipe.template family<Config>(); })

// ME_RECIPE_FAMILY(GptDataConfig, gpt_data_family); at the end of the file declaring the family.
#define ME_RECIPE_FAMILY(Config, build)                                                           \
  static const ::me::FamilyRegistration ME_CONCAT(me_recipe_family_, __COUNTER__)(typeid(Config), \
                                                                                  build, __FILE__)
