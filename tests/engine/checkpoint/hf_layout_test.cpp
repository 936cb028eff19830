// Row re-layouts for HF conversion against hand-written expectations, and HfTensorSource's errors.
#include "engine/checkpoint/hf_layout.h"

#include <doctest/doctest.h>

namespace {

me::Tensor rows(std::vector<float> values, int64_t n) {
  const int64_t width = static_cast<int64_t>(values.size()) / n;
  return me::Tensor::from_vector(values, {n, width});
}

}  // namespace

TEST_CASE("group_qkv puts each query group's heads before its k and v head") {
  // 4 query heads in 2 groups, head_dim 1: q rows q0..q3, k rows k0 k1, v rows v0 v1.
  const me::Tensor q = rows({0, 1, 2, 3}, 4), k = rows({10, 11}, 2), v = rows({20, 21}, 2);
  const me::Tensor qkv = me::group_qkv(q, k, v, 4, 2, 1);
  CHECK(qkv.to_vector<float>() == std::vector<float>{0, 1, 10, 20, 2, 3, 11, 21});
  const me::QkvParts parts = me::ungroup_qkv(qkv, 4, 2, 1);
  CHECK(parts.q.to_vector<float>() == q.to_vector<float>());
  CHECK(parts.k.to_vector<float>() == k.to_vector<float>());
  CHECK(parts.v.to_vector<float>() == v.to_vector<float>());

  // Multi-head attention (GPT-2), 2 heads of head_dim 2, 2 columns: [q_h | k_h | v_h] per head.
  const me::Tensor mq = rows({1, 1, 2, 2, 3, 3, 4, 4}, 4);
  const me::Tensor mk = rows({5, 5, 6, 6, 7, 7, 8, 8}, 4);
  const me::Tensor mv = rows({9, 9, 10, 10, 11, 11, 12, 12}, 4);
  const auto grouped = me::group_qkv(mq, mk, mv, 2, 2, 2).to_vector<float>();
  const std::vector<float> expected = {1, 1, 2, 2, 5, 5, 6, 6, 9,  9,  10, 10,
                                       3, 3, 4, 4, 7, 7, 8, 8, 11, 11, 12, 12};
  CHECK(grouped == expected);
}

TEST_CASE("transpose_2d concat_rows and slice_rows move exact values") {
  const me::Tensor t = rows({1, 2, 3, 4, 5, 6}, 2);  // [[1 2 3] [4 5 6]]
  const me::Tensor tt = me::transpose_2d(t);
  CHECK(tt.shape() == me::Shape{3, 2});
  CHECK(tt.to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(me::slice_rows(t, 1, 2).to_vector<float>() == std::vector<float>{4, 5, 6});
  const me::Tensor both = me::concat_rows({t, me::slice_rows(t, 0, 1)});
  CHECK(both.shape() == me::Shape{3, 3});
  CHECK(both.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6, 1, 2, 3});
}

TEST_CASE("HfTensorSource names missing misshapen and unused tensors") {
  const me::Tensor value = rows({1, 2}, 1);
  me::HfTensorSource source(
      {"a", "b", "c"}, [&](const std::string&) { return value; }, "dir");
  CHECK(source.take("a", {1, 2}).to_vector<float>() == std::vector<float>{1, 2});
  CHECK_THROWS_WITH_AS(source.take("b", {2, 1}),
                       "dir: error: tensor 'b' has shape [1, 2] but config.json implies [2, 1]",
                       me::Error);
  CHECK_THROWS_WITH_AS(source.take("z", {1, 2}), "dir: error: missing tensor 'z'", me::Error);
  source.ignore("x");
  CHECK_THROWS_WITH_AS(source.finish(),
                       "dir: error: unexpected tensor(s) this architecture does not have: b, c",
                       me::Error);
}
