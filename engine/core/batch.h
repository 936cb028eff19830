// Tensors by name: a micro-batch ("tokens", "labels", "loss_mask", "position_ids", each (B, T) for
// GPT), which datasets produce and models declare they read, or what crosses a pipeline stage
// boundary ("hidden", ...). TensorSpec describes one such tensor.
#pragma once

#include <map>
#include <string>

#include "engine/core/tensor.h"

namespace me {

struct NamedTensors {
  std::map<std::string, Tensor> tensors;

  const Tensor& at(const std::string& name) const {
    auto it = tensors.find(name);
    ME_CHECK(it != tensors.end(), "no tensor '{}' among the named tensors", name);
    return it->second;
  }
  bool contains(const std::string& name) const { return tensors.count(name) > 0; }
  NamedTensors to(Device device) const {
    NamedTensors out;
    for (const auto& [name, t] : tensors) out.tensors[name] = t.to(device);
    return out;
  }
};

using Batch = NamedTensors;

// A named tensor's dtype and shape (one sample's for a batch column, the whole tensor's for a
// stage boundary). Optional batch columns are read when a dataset yields them.
struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
  bool required = true;
};

}  // namespace me
