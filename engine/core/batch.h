// A micro-batch as named tensors ("tokens", "labels", "loss_mask", "position_ids", each (B, T) for
// GPT). Datasets produce them, models declare which names they read.
#pragma once

#include <map>
#include <string>

#include "engine/core/tensor.h"

namespace me {

struct Batch {
  std::map<std::string, Tensor> tensors;

  const Tensor& at(const std::string& name) const {
    auto it = tensors.find(name);
    ME_CHECK(it != tensors.end(), "batch has no tensor '{}'", name);
    return it->second;
  }
  Batch to(Device device) const {
    Batch out;
    for (const auto& [name, t] : tensors) out.tensors[name] = t.to(device);
    return out;
  }
};

}  // namespace me
