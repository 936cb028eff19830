// check_model_compatible: the parameters the model built for the recipe declares (names and full
// shapes) against those the checkpoint stores, and, when they differ, whether the checkpoint's own
// recipe builds a model that matches (then its model fields that differ are the fix).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "engine/checkpoint/checkpoint.h"
#include "engine/checkpoint/checkpoint_index.h"
#include "engine/models/model.h"
#include "engine/nn/tensor_parallel.h"

namespace me {
namespace {

using ParamShapes = std::map<std::string, Shape>;

// The parameters the registered model declares for `recipe`, whole (tensor-parallel size 1, every
// stage), by name with their full shapes. Building a model allocates nothing.
ParamShapes declared_parameters(const Recipe& recipe, int64_t padded_vocab_size) {
  const TensorParallel whole;
  const TensorParallelScope scope(whole);
  const std::unique_ptr<Model> model =
      ModelRegistry::instance().create(recipe.model.type, recipe, padded_vocab_size);
  ParamShapes shapes;
  for (const Parameter* p : model->parameters()) shapes.emplace(p->name, p->full_shape());
  return shapes;
}

// What the checkpoint stores: its index's model tensors, or for version 1 (no placements) the
// model its own recipe declares.
ParamShapes stored_parameters(const CheckpointManifest& manifest, const Recipe& saved) {
  if (manifest.format_version == 1) {
    return declared_parameters(saved, manifest.state.padded_vocab_size);
  }
  ParamShapes shapes;
  const std::string prefix = "model/";
  for (auto& [name, shape] : CheckpointIndex(checkpoint_shard_paths(manifest)).shapes(prefix)) {
    shapes.emplace(name.substr(prefix.size()), shape);
  }
  return shapes;
}

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

// The parameters that differ, each list in name order.
struct Differences {
  std::vector<std::string> missing;      // declared, not stored
  std::vector<std::string> extra;        // stored, not declared
  std::vector<std::string> other_shape;  // "name (checkpoint S, model S)"
  bool empty() const { return missing.empty() && extra.empty() && other_shape.empty(); }
};

// `repadded`: a table of `rows` padded vocabulary rows in the model stored with `stored_rows`,
// which loading re-pads (checkpoint_index.h).
Differences compare(const ParamShapes& declared, const ParamShapes& stored,
                    const std::function<bool(int64_t rows, int64_t stored_rows)>& repadded) {
  Differences d;
  for (const auto& [name, shape] : declared) {
    const auto it = stored.find(name);
    if (it == stored.end()) {
      d.missing.push_back(name);
      continue;
    }
    const Shape& was = it->second;
    const bool rows_only = shape.size() == 2 && was.size() == 2 && shape[1] == was[1];
    if (was != shape && !(rows_only && repadded(shape[0], was[0]))) {
      d.other_shape.push_back(
          fmt::format("{} (checkpoint {}, model {})", name, shape_str(was), shape_str(shape)));
    }
  }
  for (const auto& [name, shape] : stored) {
    if (!declared.count(name)) d.extra.push_back(name);
  }
  return d;
}

// "what: a, b, c and N more" for the first few of `names`.
std::string first_of(const char* what, const std::vector<std::string>& names) {
  constexpr size_t kShown = 3;
  const std::vector<std::string> shown(names.begin(),
                                       names.begin() + std::min(names.size(), kShown));
  std::string text = fmt::format("{}: {}", what, fmt::join(shown, ", "));
  if (names.size() > kShown) text += fmt::format(" and {} more", names.size() - kShown);
  return text;
}

// A YAML value as one line, for comparing and quoting.
std::string yaml_text(const YAML::Node& node) {
  if (!node) return "(absent)";
  if (node.IsNull()) return "null";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// "model.<key> (checkpoint A, recipe B)" for every key of the model sections that differs.
std::vector<std::string> model_field_differences(const std::string& saved_yaml,
                                                 const Recipe& recipe) {
  const YAML::Node saved = YAML::Load(saved_yaml)["model"];
  const YAML::Node now = YAML::Load(recipe_to_yaml(recipe))["model"];
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const YAML::Node& section : {saved, now}) {
    for (const auto& entry : section) {
      const std::string key = entry.first.as<std::string>();
      if (seen.insert(key).second) keys.push_back(key);
    }
  }
  std::vector<std::string> out;
  for (const std::string& key : keys) {
    const std::string was = yaml_text(saved[key]), is = yaml_text(now[key]);
    if (was != is) out.push_back(fmt::format("model.{} (checkpoint {}, recipe {})", key, was, is));
  }
  return out;
}

}  // namespace

void check_model_compatible(const CheckpointManifest& manifest, const Recipe& recipe,
                            int64_t padded_vocab_size) {
  // Validated for the world it was saved on (tp and dp sizes must fit that world).
  const Recipe saved = parse_recipe(manifest.recipe_yaml, manifest.directory + "/manifest.yaml",
                                    manifest.world_size);
  const int64_t saved_padded = manifest.state.padded_vocab_size;
  const bool vocabulary_fits = same_vocabulary(saved, saved_padded, recipe, padded_vocab_size);
  const ParamShapes stored = stored_parameters(manifest, saved);
  const Differences differences = compare(
      declared_parameters(recipe, padded_vocab_size), stored, [&](int64_t rows, int64_t was) {
        return vocabulary_fits && rows == padded_vocab_size && was == saved_padded;
      });
  if (differences.empty()) return;
  std::vector<std::string> parts;
  if (!differences.missing.empty()) {
    parts.push_back(first_of("the model's parameters missing from it", differences.missing));
  }
  if (!differences.extra.empty()) {
    parts.push_back(first_of("its parameters the model lacks", differences.extra));
  }
  if (!differences.other_shape.empty()) {
    parts.push_back(first_of("parameters of another shape", differences.other_shape));
  }
  // The checkpoint's own recipe matches it unless the checkpoint is damaged or from another build.
  std::optional<Differences> own;
  try {
    own = compare(declared_parameters(saved, saved_padded), stored,
                  [](int64_t, int64_t) { return false; });
  } catch (const Error&) {
    own.reset();
  }
  std::string fix;
  if (own && own->empty()) {
    std::vector<std::string> fields = model_field_differences(manifest.recipe_yaml, recipe);
    if (!vocabulary_fits) {
      fields.push_back(fmt::format("padded vocabulary size (checkpoint {}, recipe {})",
                                   saved_padded, padded_vocab_size));
    }
    fix = "; the checkpoint's own recipe builds a matching model";
    if (!fields.empty())
      fix += fmt::format(", and it differs from this one in {}", fmt::join(fields, "; "));
  } else {
    fix = "; no recipe found that builds a matching model";
  }
  throw Error(fmt::format("checkpoint's parameters do not match the model the recipe builds: {}{}",
                          fmt::join(parts, "; "), fix),
              manifest.directory);
}

}  // namespace me
