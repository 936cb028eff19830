// `megatron-engine [train] --recipe FILE [--set k=v ...] [--print-recipe]`.
#include <spdlog/spdlog.h>

#include <iostream>

#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/parallel/communicator.h"
#include "engine/recipe/recipe.h"
#include "engine/train/trainer.h"

namespace me {
namespace po = boost::program_options;

int train_command(const std::vector<std::string>& args) {
  po::options_description options("megatron-engine train");
  // clang-format off
  options.add_options()
      ("help", "this message")
      ("recipe", po::value<std::string>(), "the YAML recipe to train (required)")
      ("set", po::value<std::vector<std::string>>()->composing(),
       "override a recipe field: --set section.key=VALUE (VALUE is YAML: 3, 1e-4, true, [a,b]); "
       "repeatable, applied after the recipe and its base: chain")
      ("print-recipe", "print the fully resolved recipe (defaults and derived values) and exit");
  // clang-format on
  const po::variables_map vm = parse_flags(options, args, "train");
  if (vm.count("help")) {
    std::cout << options << "\nRecipe fields are documented in docs/recipes.md.\n";
    return 0;
  }
  if (!vm.count("recipe")) {
    throw Error("train needs --recipe FILE (see megatron-engine --help)", "", ExitCode::kConfig);
  }
  const auto overrides =
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (vm.count("print-recipe")) {
    const Recipe recipe = load_recipe(vm["recipe"].as<std::string>(), overrides, 1);
    std::cout << recipe_to_yaml(recipe);
    return 0;
  }
  std::unique_ptr<Communicator> world = make_world_communicator();
  const Recipe recipe = load_recipe(vm["recipe"].as<std::string>(), overrides, world->size());
  world->set_timeout(recipe.parallel.distributed_timeout_minutes * 60.0);
  Trainer trainer(recipe, *world);
  return trainer.run();
}

}  // namespace me
