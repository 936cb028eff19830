// Loading: the model-shape check, and parameters and optimizer state read by name and placement
// (version 2) or from the rank's own shard (version 1).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "engine/checkpoint/checkpoint.h"
#include "engine/checkpoint/checkpoint_index.h"
#include "engine/checkpoint/optimizer_shards.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/param_buffers.h"

namespace me {
namespace {

// Whether two padded vocabulary sizes can pad one vocabulary: Megatron pads to a multiple of
// make_vocab_size_divisible_by * tensor_model_parallel_size, so padded size P covers vocabularies
// in (P - multiple, P]. Loading re-pads the vocabulary tables then. An explicit
// model.padded_vocab_size is taken as it is.
bool same_vocabulary(const Recipe& saved, int64_t saved_padded, const Recipe& now,
                     int64_t now_padded) {
  if (saved_padded == now_padded) return true;
  if (saved.model.padded_vocab_size || now.model.padded_vocab_size) return false;
  auto multiple = [](const Recipe& r) {
    return r.model.make_vocab_size_divisible_by * r.parallel.tensor_model_parallel_size;
  };
  return std::max(saved_padded - multiple(saved), now_padded - multiple(now)) <
         std::min(saved_padded, now_padded);
}

}  // namespace

void check_model_compatible(const CheckpointManifest& manifest, const Recipe& recipe,
                            int64_t padded_vocab_size) {
  // Validated for the world it was saved on (tp and dp sizes must fit that world).
  const Recipe saved = parse_recipe(manifest.recipe_yaml, manifest.directory + "/manifest.yaml",
                                    manifest.world_size);
  std::vector<std::string> differences;
  auto compare = [&](const char* field, const auto& was, const auto& now) {
    if (was != now)
      differences.push_back(fmt::format("{} (checkpoint {}, recipe {})", field, was, now));
  };
  compare("model.type", saved.model.type, recipe.model.type);
  compare("model.num_layers", saved.model.num_layers, recipe.model.num_layers);
  compare("model.hidden_size", saved.model.hidden_size, recipe.model.hidden_size);
  compare("model.num_attention_heads", saved.model.num_attention_heads,
          recipe.model.num_attention_heads);
  compare("model.ffn_hidden_size", saved.derived.ffn_hidden_size, recipe.derived.ffn_hidden_size);
  compare("model.kv_channels", saved.derived.kv_channels, recipe.derived.kv_channels);
  compare("model.num_query_groups", saved.derived.num_query_groups,
          recipe.derived.num_query_groups);
  compare("model.max_position_embeddings", saved.model.max_position_embeddings,
          recipe.model.max_position_embeddings);
  compare("model.untie_embeddings_and_output_weights",
          saved.model.untie_embeddings_and_output_weights,
          recipe.model.untie_embeddings_and_output_weights);
  compare("model.add_bias_linear", saved.model.add_bias_linear, recipe.model.add_bias_linear);
  compare("model.normalization", saved.model.normalization, recipe.model.normalization);
  compare("model.position_embedding_type", saved.model.position_embedding_type,
          recipe.model.position_embedding_type);
  if (!same_vocabulary(saved, manifest.state.padded_vocab_size, recipe, padded_vocab_size)) {
    compare("padded vocabulary size", manifest.state.padded_vocab_size, padded_vocab_size);
  }
  if (!differences.empty()) {
    throw Error(fmt::format("checkpoint's model does not match the recipe: {}",
                            fmt::join(differences, "; ")),
                manifest.directory);
  }
}

void load_checkpoint(const CheckpointManifest& manifest, ParamBuffers& buffers,
                     Optimizer* optimizer, const Topology& topology) {
  if (optimizer && !manifest.has_optimizer) {
    throw Error(
        "checkpoint holds no optimizer state (saved with no_save_optim); set "
        "checkpoint.no_load_optim or checkpoint.finetune",
        manifest.directory);
  }
  if (manifest.format_version == 1) {
    load_checkpoint_v1(manifest, buffers, optimizer, topology);
  } else {
    CheckpointIndex index(checkpoint_shard_paths(manifest));
    for (Parameter* p : buffers.parameters()) {
      Tensor host = Tensor::empty(p->shape, DType::kF32);
      index.read("model/" + p->name, Placement::whole(p->full_shape(), p->partition),
                 host.data<float>());
      p->main.copy_from(host.to(p->main.device()));
    }
    buffers.sync_model_params();
    if (optimizer) load_optimizer_state(index, buffers, *optimizer);
  }
  if (optimizer) optimizer->set_step_count(manifest.state.optimizer_steps);
}

}  // namespace me
