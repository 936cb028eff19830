// Tensors by name: a micro-batch ("tokens", "labels", "loss_mask", "position_ids", each (B, T) for
// GPT), which datasets produce and models declare they read, or what crosses a pipeline stage
// boundary ("hidden", ...). TensorSpec describes one such tensor.
#pragma once

#include <map>
#include <string>
#include <vector>

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

// A named tensor's dtype and shape. As a batch column: one sample's shape (a batch of B holds it
// as (B, shape...)), and a consumer's spec with required = false is read only when provided. At a
// pipeline stage boundary: the whole tensor's shape.
struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;  // a batch column's: of one sample, without the batch dimension (tokens {T})
  bool required = true;
  bool operator==(const TensorSpec&) const = default;
};

// "i32 [2048]"
std::string describe_spec(const TensorSpec& spec);

// Bytes of the tensor `spec` describes (of one sample, for a batch column).
int64_t spec_bytes(const TensorSpec& spec);

// Every consumed tensor must be provided with the same dtype and shape (optional ones only when
// provided). Throws one me::ErrorList with a line per mismatch, e.g. "model 'gpt' reads
// 'document_ids' (i32 [2048]) but dataset 'gpt' (data.data_path) does not yield it".
void check_batch_contract(const std::vector<TensorSpec>& consumed,
                          const std::vector<TensorSpec>& provided, const std::string& consumer,
                          const std::string& provider);

// A batch of `batch_size` samples laid out as `fields` (uninitialised, on the CPU).
Batch allocate_batch(const std::vector<TensorSpec>& fields, int64_t batch_size);

// Copies sample row k of every tensor in `from` into row rows[k] of the same tensor in `into`
// (same names, dtypes and per-sample shapes): how a blend assembles its members' rows.
void copy_batch_rows(const Batch& from, const std::vector<int64_t>& rows, Batch& into);

}  // namespace me
