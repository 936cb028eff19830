// The start-up banner: what this run is (model size, layout, tokens per step), what it reads
// (datasets, epochs), what the plan says it needs (memory per rank) and where its outputs go.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/parallel/topology.h"
#include "engine/plan/plan.h"
#include "engine/recipe/recipe.h"

namespace me {

struct DataFileSummary {
  std::string path;
  int64_t documents = 0;
  int64_t tokens = 0;
};

// Documents and tokens of every token dataset the recipe reads (none for mock data).
std::vector<DataFileSummary> summarize_data_files(const DataConfig& data);

// The banner text, one "label  value" line each. Epochs are the training tokens over the train
// split's share of the data (data.split applied to all files; train_data_path files count whole).
std::string format_banner(const Recipe& recipe, const Topology& topology, const Device& device,
                          int64_t num_parameters, const PlanReport& plan,
                          const std::vector<DataFileSummary>& data);

}  // namespace me
