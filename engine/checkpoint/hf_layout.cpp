// Row-wise tensor re-layouts for Hugging Face conversion; pure copies, so round trips are exact.
#include "engine/checkpoint/hf_layout.h"

#include <fmt/ranges.h>

#include <cstring>

namespace me {
namespace {

int64_t row_elems(const Tensor& t) { return t.ndim() == 0 ? 1 : t.numel() / t.dim(0); }

Shape with_rows(const Tensor& t, int64_t rows) {
  Shape s = t.shape();
  s[0] = rows;
  return s;
}

}  // namespace

Tensor transpose_2d(const Tensor& t) {
  ME_CHECK(t.ndim() == 2 && t.dtype() == DType::kF32, "transpose of {}", t.describe());
  const int64_t a = t.dim(0), b = t.dim(1);
  Tensor out = Tensor::empty({b, a}, DType::kF32);
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < a; ++i) {
    for (int64_t j = 0; j < b; ++j) dst[j * a + i] = src[i * b + j];
  }
  return out;
}

Tensor concat_rows(const std::vector<Tensor>& parts) {
  ME_CHECK(!parts.empty(), "concat of nothing");
  int64_t rows = 0;
  for (const Tensor& p : parts) {
    ME_CHECK(p.dtype() == DType::kF32 && row_elems(p) == row_elems(parts[0]), "concat of {} and {}",
             p.describe(), parts[0].describe());
    rows += p.dim(0);
  }
  Tensor out = Tensor::empty(with_rows(parts[0], rows), DType::kF32);
  char* dst = static_cast<char*>(out.raw_data());
  for (const Tensor& p : parts) {
    std::memcpy(dst, p.raw_data(), p.nbytes());
    dst += p.nbytes();
  }
  return out;
}

Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end) {
  ME_CHECK(begin >= 0 && begin <= end && end <= t.dim(0), "rows [{}, {}) of {}", begin, end,
           t.describe());
  return t.view(begin * row_elems(t), with_rows(t, end - begin)).clone();
}

Tensor group_qkv(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads, int64_t groups,
                 int64_t head_dim) {
  ME_CHECK(q.dim(0) == heads * head_dim && k.dim(0) == groups * head_dim &&
               v.dim(0) == groups * head_dim && heads % groups == 0,
           "qkv {} {} {} for {} heads, {} groups, head_dim {}", q.describe(), k.describe(),
           v.describe(), heads, groups, head_dim);
  const int64_t per_group = heads / groups * head_dim;
  std::vector<Tensor> parts;
  for (int64_t g = 0; g < groups; ++g) {
    parts.push_back(slice_rows(q, g * per_group, (g + 1) * per_group));
    parts.push_back(slice_rows(k, g * head_dim, (g + 1) * head_dim));
    parts.push_back(slice_rows(v, g * head_dim, (g + 1) * head_dim));
  }
  return concat_rows(parts);
}

QkvParts ungroup_qkv(const Tensor& qkv, int64_t heads, int64_t groups, int64_t head_dim) {
  const int64_t per_group = heads / groups * head_dim;
  const int64_t stride = per_group + 2 * head_dim;
  ME_CHECK(qkv.dim(0) == groups * stride, "qkv {} for {} heads, {} groups, head_dim {}",
           qkv.describe(), heads, groups, head_dim);
  std::vector<Tensor> q, k, v;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t base = g * stride;
    q.push_back(slice_rows(qkv, base, base + per_group));
    k.push_back(slice_rows(qkv, base + per_group, base + per_group + head_dim));
    v.push_back(slice_rows(qkv, base + per_group + head_dim, base + stride));
  }
  return {concat_rows(q), concat_rows(k), concat_rows(v)};
}

HfTensorSource::HfTensorSource(std::vector<std::string> names, Reader read, std::string where)
    : names_(names.begin(), names.end()), read_(std::move(read)), where_(std::move(where)) {}

Tensor HfTensorSource::take(const std::string& name, const Shape& expected) {
  if (!names_.count(name)) throw Error("missing tensor '" + name + "'", where_);
  Tensor t = read_(name);
  if (t.shape() != expected) {
    throw Error(fmt::format("tensor '{}' has shape {} but config.json implies {}", name,
                            shape_str(t.shape()), shape_str(expected)),
                where_);
  }
  used_.insert(name);
  return t;
}

void HfTensorSource::finish() const {
  std::vector<std::string> unused;
  for (const auto& name : names_) {
    if (!used_.count(name)) unused.push_back(name);
  }
  if (!unused.empty()) {
    throw Error(fmt::format("unexpected tensor(s) this architecture does not have: {}",
                            fmt::join(unused, ", ")),
                where_);
  }
}

}  // namespace me
