// Hybrid pattern syntax. Deviation: Megatron lets the pattern override num_layers silently; here
// both must agree, since a stale num_layers would otherwise describe a model that is not built.
#include "engine/recipe/hybrid_pattern.h"

#include <fmt/format.h>

#include "engine/core/error.h"

namespace me {

namespace {
// Megatron's other symbols, for a message that names them.
const char* not_available(char c) {
  switch (c) {
    case 'M':
      return "Mamba layers";
    case 'E':
      return "MoE layers";
    case 'G':
      return "Gated DeltaNet layers";
    case 'D':
      return "DSA attention layers";
    case '+':
      return "MLA attention layers";
    case '|':
      return "pipeline boundaries in the pattern (use "
             "parallel.decoder_first/last_pipeline_num_layers)";
    case '/':
      return "multi-token prediction layers";
    default:
      return nullptr;
  }
}
}  // namespace

std::vector<HybridLayer> hybrid_layers(const std::string& pattern, int64_t num_layers) {
  const char* field = "model.hybrid_override_pattern";
  std::vector<HybridLayer> layers;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*') {
      layers.push_back(HybridLayer::kAttention);
    } else if (c == '-') {
      layers.push_back(HybridLayer::kMlp);
    } else if (const char* what = not_available(c)) {
      throw Error(fmt::format("'{}' at position {} of '{}': {} are not available yet (this engine "
                              "builds '*' attention and '-' MLP layers)",
                              c, i, pattern, what),
                  field);
    } else {
      throw Error(fmt::format("'{}' at position {} of '{}' is not a layer symbol ('*' attention, "
                              "'-' MLP)",
                              c, i, pattern),
                  field);
    }
  }
  if (static_cast<int64_t>(layers.size()) != num_layers) {
    throw Error(fmt::format("'{}' names {} layers but model.num_layers is {}; they must agree",
                            pattern, layers.size(), num_layers),
                field);
  }
  return layers;
}

void hybrid_pattern_settings(RuleContext& c) {
  if (!c.usable({"model.hybrid_override_pattern", "model.num_layers"})) return;
  const ModelConfig& m = c.r().model;
  if (!m.hybrid_override_pattern) return;
  try {
    hybrid_layers(*m.hybrid_override_pattern, m.num_layers);
  } catch (const Error& e) {
    c.fail({"model.hybrid_override_pattern"}, e.message());
  }
}

}  // namespace me
