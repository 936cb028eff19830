// check_model_compatible against a saved tiny GPT: the same recipe (and another tp's padding of
// the same vocabulary) passes; a wider, deeper or shallower model, another vocabulary, and a
// checkpoint no recipe builds are refused with the first differing parameters named and, where
// the checkpoint's own recipe matches, the model fields it differs in.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

#include "engine/checkpoint/checkpoint.h"
#include "engine/models/model.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"
#include "tests/support/process.h"

using namespace me;

namespace {

constexpr int64_t kPadded = 128;  // 32 tokens padded to a multiple of 128

// A tiny GPT of `layers` layers with `model_sets` (more model lines) at tensor-parallel size tp.
Recipe recipe_of(int64_t layers, const std::string& model_sets = "", int64_t tp = 1) {
  const std::string yaml = fmt::format(R"(
model:
  type: gpt
  num_layers: {}
  hidden_size: 16
  num_attention_heads: 2
  seq_length: 16
  max_position_embeddings: 16
{}
data:
  mock_data: true
tokenizer:
  vocab_size: 32
train:
  micro_batch_size: 1
  train_iters: 10
optimizer:
  lr: 0.001
parallel:
  tensor_model_parallel_size: {}
)",
                                       layers, model_sets, tp);
  return parse_recipe(yaml, "<test>", tp);
}

// Saves the model `recipe` builds (plus `extra`, a parameter no recipe declares, when given) and
// returns the manifest.
CheckpointManifest save(const testing::TempDir& dir, const Recipe& recipe,
                        Parameter* extra = nullptr) {
  const std::unique_ptr<Model> model =
      ModelRegistry::instance().create(recipe.model.type, recipe, kPadded);
  std::vector<Parameter*> params = model->parameters();
  if (extra) params.push_back(extra);
  ParamBuffers buffers(params, Device::cpu());
  TrainingState state;
  state.iteration = 1;
  state.padded_vocab_size = kPadded;
  SelfCommunicator comm;
  save_checkpoint(dir / "ckpt", recipe, state, buffers, nullptr, Topology::build(recipe, 1, 0),
                  comm);
  return read_manifest(dir / "ckpt/iter_0000001");
}

std::string refusal(const CheckpointManifest& manifest, const Recipe& recipe,
                    int64_t padded = kPadded) {
  try {
    check_model_compatible(manifest, recipe, padded);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("a checkpoint's parameters are compared with the model the recipe builds") {
  testing::TempDir dir;
  const Recipe recipe = recipe_of(2);
  const CheckpointManifest manifest = save(dir, recipe);
  CHECK(refusal(manifest, recipe) == "");
  // tp 2 pads the 32 tokens to 256 rows: the same vocabulary, re-padded on load.
  CHECK(refusal(manifest, recipe_of(2, "", 2), 256) == "");

  // ffn_hidden_size 32 (the checkpoint has 4 x 16): three of six parameters named, in name order.
  const std::string narrower = refusal(manifest, recipe_of(2, "  ffn_hidden_size: 32"));
  CHECK_MESSAGE(contains(narrower,
                         "parameters of another shape: decoder.layers.0.mlp.linear_fc1.bias "
                         "(checkpoint [64], model [32]), decoder.layers.0.mlp.linear_fc1.weight "
                         "(checkpoint [64, 16], model [32, 16]), "
                         "decoder.layers.0.mlp.linear_fc2.weight (checkpoint [16, 64], model "
                         "[16, 32]) and 3 more; the checkpoint's own recipe builds a matching "
                         "model, and it differs from this one in model.ffn_hidden_size "
                         "(checkpoint "),
                narrower);
  CHECK_MESSAGE(contains(narrower, ", recipe 32)"), narrower);

  // A third layer: its 12 parameters are missing.
  const std::string deeper = refusal(manifest, recipe_of(3));
  CHECK_MESSAGE(contains(deeper,
                         "the model's parameters missing from it: "
                         "decoder.layers.2.input_layernorm.bias, "
                         "decoder.layers.2.input_layernorm.weight, "
                         "decoder.layers.2.mlp.linear_fc1.bias and 9 more; the checkpoint's own "
                         "recipe builds a matching model, and it differs from this one in "
                         "model.num_layers (checkpoint 2, recipe 3)"),
                deeper);
  const std::string shallower = refusal(manifest, recipe_of(1));
  CHECK_MESSAGE(contains(shallower,
                         "its parameters the model lacks: decoder.layers.1.input_layernorm.bias, "
                         "decoder.layers.1.input_layernorm.weight, "
                         "decoder.layers.1.mlp.linear_fc1.bias and 9 more; "),
                shallower);
  CHECK_MESSAGE(contains(shallower, "model.num_layers (checkpoint 2, recipe 1)"), shallower);

  // 256 padded rows at tp 1 pad another vocabulary (129 to 256 tokens).
  const std::string vocabulary = refusal(manifest, recipe, 256);
  CHECK_MESSAGE(contains(vocabulary,
                         "parameters of another shape: embedding.word_embeddings.weight "
                         "(checkpoint [128, 16], model [256, 16]); the checkpoint's own recipe "
                         "builds a matching model, and it differs from this one in padded "
                         "vocabulary size (checkpoint 128, recipe 256)"),
                vocabulary);
}

TEST_CASE("a checkpoint no recipe builds is refused saying so") {
  testing::TempDir dir;
  const Recipe recipe = recipe_of(2);
  Parameter bogus{"bogus.weight", {2, 2}, ParamInit::zeros()};
  const CheckpointManifest manifest = save(dir, recipe, &bogus);
  const std::string message = refusal(manifest, recipe);
  CHECK_MESSAGE(contains(message,
                         "its parameters the model lacks: bogus.weight; no recipe found "
                         "that builds a matching model"),
                message);
}
