// Megatron's hybrid layer pattern (hybrid_override_pattern): one character per layer naming its
// block. The syntax lives here, below the models that build the blocks, so a recipe with a bad
// pattern is refused at its key before anything is built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/recipe/rule_context.h"

namespace me {

enum class HybridLayer {
  kAttention,  // '*': self-attention with its norm and residual, no MLP
  kMlp,        // '-': an MLP with its norm and residual
};

// The layers `pattern` names; throws me::Error naming model.hybrid_override_pattern for a length
// other than num_layers or a character that is not a layer this engine builds (Megatron's 'M'
// Mamba, 'E' MoE, 'G', 'D', '+' are named as not available yet; '|' and '/' likewise).
std::vector<HybridLayer> hybrid_layers(const std::string& pattern, int64_t num_layers);

// Rule: model.hybrid_override_pattern parses for model.num_layers.
void hybrid_pattern_settings(RuleContext& c);

}  // namespace me
