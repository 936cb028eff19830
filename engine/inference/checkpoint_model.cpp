// Loading a checkpoint for inference. Tokenizer files the recipe names that are gone (the
// checkpoint was moved) but have a copy beside the manifest (convert --from hf carries them there)
// are read from that copy.
#include "engine/inference/checkpoint_model.h"

#include <filesystem>

#include "engine/checkpoint/checkpoint.h"
#include "engine/parallel/communicator.h"

namespace me {
namespace {

std::optional<std::string> beside_checkpoint(const std::optional<std::string>& path,
                                             const CheckpointManifest& manifest) {
  if (!path || std::filesystem::exists(*path)) return path;
  const auto local =
      std::filesystem::path(manifest.directory) / std::filesystem::path(*path).filename();
  return std::filesystem::exists(local) ? std::optional<std::string>(local.string()) : path;
}

std::unique_ptr<Tokenizer> checkpoint_tokenizer(const Recipe& recipe,
                                                const CheckpointManifest& manifest,
                                                const TokenizerOverrides& overrides) {
  const TrainingState& state = manifest.state;
  const std::string type = overrides.type.value_or(state.tokenizer_type);
  TokenizerFiles files{beside_checkpoint(recipe.tokenizer.vocab_file, manifest),
                       beside_checkpoint(recipe.tokenizer.merge_file, manifest),
                       beside_checkpoint(recipe.tokenizer.tokenizer_model, manifest)};
  if (overrides.files.vocab_file) files.vocab_file = overrides.files.vocab_file;
  if (overrides.files.merge_file) files.merge_file = overrides.files.merge_file;
  if (overrides.files.tokenizer_model) files.tokenizer_model = overrides.files.tokenizer_model;
  auto tokenizer = TokenizerRegistry::instance().create(type, files);
  if (tokenizer->files_sha256() != state.tokenizer_sha256) {
    throw Error(fmt::format("tokenizer files differ from the ones the model was trained with "
                            "(sha256 {} vs {})",
                            tokenizer->files_sha256(), state.tokenizer_sha256),
                "--tokenizer-model / --vocab-file");
  }
  return tokenizer;
}

}  // namespace

CausalLm& CheckpointModel::causal_lm() const {
  CausalLm* lm = model->causal_lm();
  if (!lm) {
    throw Error(fmt::format("a '{}' model does not generate text", recipe.model.type),
                "model.type");
  }
  return *lm;
}

GenerationSetup CheckpointModel::generation_setup() const {
  GenerationSetup setup;
  setup.max_positions = causal_lm().max_sequence_length();
  setup.vocab_size = tokenizer->vocab_size();
  const Tokenizer* t = tokenizer.get();
  setup.detokenize = [t](const std::vector<int32_t>& ids) { return t->decode(ids); };
  return setup;
}

CheckpointModel load_checkpoint_model(const std::string& root, Device device,
                                      const TokenizerOverrides& overrides) {
  const auto found = find_checkpoint(root);
  if (!found) throw Error("no checkpoint found there", root);
  const CheckpointManifest manifest = read_manifest(*found);
  CheckpointModel loaded;
  loaded.directory = *found;
  // Saved at any parallel layout, loaded whole into this one process.
  loaded.recipe =
      checkpoint_recipe_for_layout(manifest, Topology{}, false, *found + "/manifest.yaml");
  loaded.model = ModelRegistry::instance().create(loaded.recipe.model.type, loaded.recipe,
                                                  manifest.state.padded_vocab_size);
  loaded.buffers = std::make_unique<ParamBuffers>(loaded.model->parameters(), device);
  load_checkpoint(manifest, *loaded.buffers, nullptr, Topology{});
  loaded.tokenizer = checkpoint_tokenizer(loaded.recipe, manifest, overrides);
  return loaded;
}

}  // namespace me
