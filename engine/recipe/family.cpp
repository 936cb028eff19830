// The family registry: what ME_RECIPE_FAMILY lines add at start-up, and the check that a recipe
// only ever holds family sections the schema knows (so each is parsed, printed and compared).
#include "engine/recipe/family.h"

#include <algorithm>

#include "engine/core/error.h"

namespace me {
namespace {

// Function-local, so registrations from other files' static initialisers find it constructed.
std::vector<RegisteredFamily>& family_list() {
  static std::vector<RegisteredFamily> families;
  return families;
}

}  // namespace

const std::vector<RegisteredFamily>& registered_families() { return family_list(); }

FamilyRegistration::FamilyRegistration(std::type_index config, FieldGroup (*build)(),
                                       const char* file) {
  family_list().push_back(RegisteredFamily{config, build, file});
}

FamilyConfigs::Holder& FamilyConfigs::insert(std::type_index type, std::unique_ptr<Holder> config) {
  const auto& families = registered_families();
  ME_CHECK(std::any_of(families.begin(), families.end(),
                       [&](const RegisteredFamily& f) { return f.config == type; }),
           "{} is not a registered recipe family (ME_RECIPE_FAMILY)", type.name());
  configs_.emplace_back(type, std::move(config));
  return *configs_.back().second;
}

}  // namespace me
