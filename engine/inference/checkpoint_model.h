// A checkpoint loaded for inference (generate, serve): its recipe, model with parameters bound on
// a device, and the tokenizer it was trained with (sha256-checked).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "datasets/tokenizer.h"
#include "engine/inference/generator.h"
#include "engine/models/causal_lm.h"
#include "engine/models/model.h"
#include "engine/optim/param_buffers.h"
#include "engine/recipe/recipe.h"

namespace me {

// Command-line replacements for the checkpoint's tokenizer type and files.
struct TokenizerOverrides {
  std::optional<std::string> type;
  TokenizerFiles files;
};

struct CheckpointModel {
  std::string directory;  // the iteration directory loaded
  Recipe recipe;
  std::unique_ptr<Model> model;
  std::unique_ptr<ParamBuffers> buffers;
  std::unique_ptr<Tokenizer> tokenizer;

  // max_positions and the real vocabulary, for GenerationSetup.
  GenerationSetup generation_setup() const;
  // The model's generation capability; an error naming model.type for a model without one.
  CausalLm& causal_lm() const;
};

// root: a checkpoint directory (its latest iteration) or an iter_* directory.
CheckpointModel load_checkpoint_model(const std::string& root, Device device,
                                      const TokenizerOverrides& overrides = {});

}  // namespace me
