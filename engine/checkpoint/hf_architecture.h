// A Hugging Face architecture we convert (registered by its config.json `architectures` name):
// config.json <-> the model section of our recipe, and HF tensors <-> our parameters by name.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/checkpoint/hf_layout.h"
#include "engine/recipe/recipe.h"
#include "engine/registry/registry.h"

namespace me {

using HfTensorSink = std::function<void(const std::string& name, const Tensor& value)>;

class HfArchitecture {
 public:
  virtual ~HfArchitecture() = default;
  // The recipe's `model:` section (YAML, two-space indented fields) for config.json; unsupported
  // settings are me::Error naming the config key (`where` is the config.json path).
  virtual std::string model_yaml(const nlohmann::json& config, const std::string& where) const = 0;
  // Whether our model of `recipe` has this architecture's shape (for export).
  virtual bool matches(const Recipe& recipe) const = 0;
  // config.json for our model with `vocab_size` real vocabulary rows.
  virtual nlohmann::json config(const Recipe& recipe, int64_t vocab_size) const = 0;
  // Every parameter of our model by name, from the HF tensors (vocab rows == vocab_size), handed
  // to `put` one at a time so an import holds one converted tensor at a time.
  virtual void to_ours(HfTensorSource& source, const Recipe& recipe, int64_t vocab_size,
                       const HfTensorSink& put) const = 0;
  // The HF tensors from our parameters (vocabulary rows beyond vocab_size dropped).
  virtual std::map<std::string, Tensor> to_hf(const std::map<std::string, Tensor>& ours,
                                              const Recipe& recipe, int64_t vocab_size) const = 0;
};

ME_DECLARE_REGISTRY(HfArchitectureRegistry, "hf_architecture", HfArchitecture);

// Reads a required config.json key, or throws me::Error naming it.
const nlohmann::json& hf_config_value(const nlohmann::json& config, const std::string& key,
                                      const std::string& where);
// An optional key's value, or `fallback` when absent or null.
template <typename T>
T hf_config_or(const nlohmann::json& config, const std::string& key, T fallback) {
  const auto it = config.find(key);
  return it == config.end() || it->is_null() ? fallback : it->get<T>();
}

// The architecture whose shape our recipe's model has; me::Error listing what fits otherwise.
const HfArchitecture& hf_architecture_for(const Recipe& recipe, std::string* name);

}  // namespace me
