// `megatron-engine plan --recipe FILE [--set k=v ...] [--world-size N] [--vocab-size N] [--json]`:
// prints what the recipe costs per rank (engine/plan) without allocating or training.
#include <algorithm>
#include <iostream>

#include "datasets/vocabulary.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/core/error.h"
#include "engine/plan/plan.h"
#include "engine/recipe/raw_recipe.h"
#include "engine/recipe/validate.h"

namespace me {
namespace po = boost::program_options;
namespace {

// --vocab-size, else the recipe's tokenizer (planning_vocab_size: no data file is opened).
int64_t plan_vocab_size(const Recipe& recipe, const po::variables_map& vm) {
  if (vm.count("vocab-size")) return vm["vocab-size"].as<int64_t>();
  return planning_vocab_size(recipe);
}

}  // namespace

int plan_command(const std::vector<std::string>& args) {
  po::options_description options("megatron-engine plan");
  // clang-format off
  options.add_options()
      ("help", "this message")
      ("recipe", po::value<std::string>(), "the YAML recipe to plan (required)")
      ("set", po::value<std::vector<std::string>>()->composing(),
       "override a recipe field: --set section.key=VALUE (as for training)")
      ("world-size", po::value<int64_t>(),
       "ranks to plan for (default: tensor x context x pipeline parallel size, i.e. dp 1)")
      ("vocab-size", po::value<int64_t>(),
       "tokenizer vocabulary (default: the recipe's tokenizer file when it exists, else "
       "tokenizer.vocab_size)")
      ("json", "print the report as one JSON object (bytes, FLOPs, parameters; memory per "
       "pipeline rank)");
  // clang-format on
  const po::variables_map vm = parse_flags(options, args, "plan");
  if (vm.count("help")) {
    std::cout << options;
    return 0;
  }
  if (!vm.count("recipe"))
    throw Error("plan needs --recipe FILE (see megatron-engine plan --help)");
  const std::string path = vm["recipe"].as<std::string>();
  const auto overrides =
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  int64_t world_size = 1;
  if (vm.count("world-size")) {
    world_size = vm["world-size"].as<int64_t>();
    if (world_size < 1) throw Error("must be >= 1", "--world-size");
  } else {
    // The recipe's own model-parallel product, read from its fields alone: the world-size rules
    // cannot pass before it is known (tp 8 x pp 16 does not divide a world of 1). Field errors
    // are reported by the full load below.
    RawRecipe raw = load_raw_recipe(path);
    apply_overrides(raw, overrides);
    const ParallelConfig& p = check_fields(raw).recipe.parallel;
    world_size = std::max<int64_t>(
        1, p.tensor_model_parallel_size * p.context_parallel_size * p.pipeline_model_parallel_size);
  }
  const Recipe recipe = load_recipe(path, overrides, world_size, RecipePurpose::kPlan);
  const PlanReport report = plan_recipe(recipe, plan_vocab_size(recipe, vm));
  std::cout << (vm.count("json") ? format_plan_json(report, recipe) : format_plan(report, recipe));
  return 0;
}

}  // namespace me
