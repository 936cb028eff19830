// config.json access with errors naming the key, and choosing the architecture for an export.
#include "engine/checkpoint/hf_architecture.h"

#include <fmt/ranges.h>

namespace me {

const nlohmann::json& hf_config_value(const nlohmann::json& config, const std::string& key,
                                      const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) throw Error("config.json has no '" + key + "'", where);
  return *it;
}

const HfArchitecture& hf_architecture_for(const Recipe& recipe, std::string* name) {
  // The registry creates instances; architectures hold no state, so keep one of each.
  static std::map<std::string, std::unique_ptr<HfArchitecture>> instances;
  for (const auto& candidate : HfArchitectureRegistry::instance().names()) {
    auto& slot = instances[candidate];
    if (!slot) slot = HfArchitectureRegistry::instance().create(candidate);
    if (slot->matches(recipe)) {
      if (name) *name = candidate;
      return *slot;
    }
  }
  throw Error(fmt::format("model '{}' with position_embedding_type {}, normalization {} and "
                          "add_bias_linear {} has no Hugging Face architecture (supported: {})",
                          recipe.model.type, recipe.model.position_embedding_type,
                          recipe.model.normalization, recipe.model.add_bias_linear,
                          fmt::join(HfArchitectureRegistry::instance().names(), ", ")),
              "model");
}

}  // namespace me
