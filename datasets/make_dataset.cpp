// make_dataset: the registry entry for the model's dataset type, or a blend of them.
#include "datasets/make_dataset.h"

#include "datasets/blend.h"
#include "datasets/blended_dataset.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"

namespace me {

std::unique_ptr<Dataset> make_dataset(const std::string& dataset_type,
                                      const DatasetRequest& request) {
  const auto& registry = DatasetRegistry::instance();
  // Checked first so that a blend does not open its files for a type that cannot read them.
  if (!registry.contains(dataset_type)) throw Error(registry.unknown_message(dataset_type));
  if (split_is_blended(request.recipe.data, request.split)) {
    return std::make_unique<BlendedDataset>(dataset_type, request);
  }
  return registry.create(dataset_type, request);
}

}  // namespace me
