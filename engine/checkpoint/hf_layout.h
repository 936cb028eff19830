// Layout transforms between Hugging Face tensors and our Megatron mcore parameters (host f32):
// transposes, the per-query-group fused QKV, row concatenation and slicing; and HfTensorSource,
// which hands out HF tensors by name with shape checks and reports any left unused.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace me {

Tensor transpose_2d(const Tensor& t);                            // (a, b) -> (b, a)
Tensor concat_rows(const std::vector<Tensor>& parts);            // along dim 0
Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end);  // rows [begin, end), a copy

// Megatron's fused QKV rows, per query group g: [q heads of g | k_g | v_g], each head `head_dim`
// rows. q: (heads * head_dim, ...), k and v: (groups * head_dim, ...), same trailing shape.
Tensor group_qkv(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads, int64_t groups,
                 int64_t head_dim);
struct QkvParts {
  Tensor q, k, v;
};
QkvParts ungroup_qkv(const Tensor& qkv, int64_t heads, int64_t groups, int64_t head_dim);

// HF tensors by name for an import: take() checks the shape (me::Error naming the tensor and both
// shapes) and marks it used; finish() fails naming every tensor never taken nor ignored.
class HfTensorSource {
 public:
  using Reader = std::function<Tensor(const std::string&)>;
  HfTensorSource(std::vector<std::string> names, Reader read, std::string where);

  bool contains(const std::string& name) const { return names_.count(name) != 0; }
  Tensor take(const std::string& name, const Shape& expected);
  void ignore(const std::string& name) { used_.insert(name); }
  void finish() const;

 private:
  std::set<std::string> names_;
  std::set<std::string> used_;
  Reader read_;
  std::string where_;
};

}  // namespace me
