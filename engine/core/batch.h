// A micro-batch as named tensors ("tokens", "labels", "loss_mask", "position_ids", each (B, T) for
// GPT), and the contract between what a dataset yields and what a model reads (TensorSpec).
#pragma once

#include <map>
#include <string>
#include <vector>

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

// One batch tensor per sample: a batch of B holds it as (B, shape...) of dtype. A consumer's
// spec with required = false is read only when provided (GPT's document_ids).
struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;  // of one sample, without the batch dimension: tokens are i32 {seq_length}
  bool required = true;
  bool operator==(const TensorSpec&) const = default;
};

// "i32 [2048]"
std::string describe_spec(const TensorSpec& spec);

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
