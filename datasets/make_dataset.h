// The one place a split's dataset is built for a model: its registered dataset type, blended when
// the data section names a blend for that split.
#pragma once

#include <memory>
#include <string>

#include "datasets/dataset.h"

namespace me {

// `dataset_type` (a DatasetRegistry name: the model's) over the split's file or mock data, or a
// BlendedDataset of `dataset_type` members when the split's list names several files or weights.
// Throws me::Error for an unknown type (with the known ones) or unusable data.
std::unique_ptr<Dataset> make_dataset(const std::string& dataset_type,
                                      const DatasetRequest& request);

}  // namespace me
