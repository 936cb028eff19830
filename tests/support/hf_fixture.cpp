// Hugging Face parity fixtures: file loading and the forward/backward/logits comparison.
#include "tests/support/hf_fixture.h"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "engine/models/causal_lm.h"
#include "tests/support/lm_loss.h"
#include "tests/support/standalone_parameters.h"

namespace me::test {

std::vector<float> HfFixture::tensor(const std::string& key, const Shape& expected_shape) const {
  REQUIRE_MESSAGE(meta["tensors"].contains(key), "fixture lacks " << key);
  const auto& entry = meta["tensors"][key];
  const Shape shape = entry["shape"].get<Shape>();
  REQUIRE_MESSAGE(shape == expected_shape, key << ": fixture " << shape_str(shape) << " vs ours "
                                               << shape_str(expected_shape));
  const int64_t offset = entry["offset"].get<int64_t>();
  return {values.begin() + offset, values.begin() + offset + shape_numel(shape)};
}

HfFixture load_hf_fixture(const std::string& name) {
  const std::string base = std::string(ME_TEST_DATA_DIR) + "/" + name;
  HfFixture f;
  std::ifstream json_in(base + ".json");
  REQUIRE_MESSAGE(json_in.good(), "cannot open " << base << ".json");
  f.meta = nlohmann::json::parse(json_in);
  std::ifstream bin_in(base + ".bin", std::ios::binary | std::ios::ate);
  REQUIRE_MESSAGE(bin_in.good(), "cannot open " << base << ".bin");
  const auto bytes = static_cast<size_t>(bin_in.tellg());
  f.values.resize(bytes / sizeof(float));
  bin_in.seekg(0);
  bin_in.read(reinterpret_cast<char*>(f.values.data()), static_cast<std::streamsize>(bytes));
  return f;
}

void expect_all_close(const std::string& what, const std::vector<float>& ours,
                      const std::vector<float>& ref, const ParityTolerance& tol) {
  REQUIRE(ours.size() == ref.size());
  size_t bad = 0, worst = 0;
  double worst_excess = -1.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double allowed = tol.abs + tol.rel * std::fabs(ref[i]);
    const double excess = std::fabs(double(ours[i]) - ref[i]) - allowed;
    if (excess > 0) ++bad;
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " of " << ref.size() << " elements differ; worst ["
                               << worst << "] ours " << ours[worst] << " vs HF " << ref[worst]);
}

namespace {

Tensor int_tensor(const nlohmann::json& rows) {
  const auto v = rows.get<std::vector<std::vector<int32_t>>>();
  std::vector<int32_t> flat;
  for (const auto& row : v) flat.insert(flat.end(), row.begin(), row.end());
  return Tensor::from_vector(flat,
                             {static_cast<int64_t>(v.size()), static_cast<int64_t>(v[0].size())});
}

Batch fixture_batch(const HfFixture& f) {
  const Tensor tokens = int_tensor(f.meta["tokens"]);
  const int64_t b = tokens.dim(0), t = tokens.dim(1);
  std::vector<int32_t> positions;
  for (int64_t i = 0; i < b * t; ++i) positions.push_back(static_cast<int32_t>(i % t));
  std::vector<float> mask;
  for (const auto& row : f.meta["loss_mask"]) {
    for (double m : row) mask.push_back(static_cast<float>(m));
  }
  Batch batch;
  batch.tensors["tokens"] = tokens;
  batch.tensors["labels"] = int_tensor(f.meta["labels"]);
  batch.tensors["loss_mask"] = Tensor::from_vector(mask, {b, t});
  batch.tensors["position_ids"] = Tensor::from_vector(positions, {b, t});
  return batch;
}

}  // namespace

void check_hf_parity(Model& model, const HfFixture& f, int64_t vocab, const ParityTolerance& tol) {
  const auto params = model.parameters();
  bind_standalone(params, DType::kF32, 1);
  size_t weights_in_fixture = 0;
  for (const auto& [key, entry] : f.meta["tensors"].items())
    weights_in_fixture += key.rfind("weight/", 0) == 0;
  CHECK(params.size() == weights_in_fixture);
  for (Parameter* p : params) {
    const auto w = f.tensor("weight/" + p->name, p->shape);
    p->value.copy_from(Tensor::from_vector(w, p->shape));
  }

  const Batch batch = fixture_batch(f);
  MicroBatchContext ctx(true, 1234, 0, 0);
  const test::LmLoss sums = test::lm_forward(model, batch, ctx);
  CHECK(sums.num_tokens == f.meta["num_tokens"].get<double>());
  const double loss = sums.loss_sum / sums.num_tokens;
  const double ref_loss = f.meta["loss"].get<double>();
  CHECK_MESSAGE(std::fabs(loss - ref_loss) <= tol.abs + tol.rel * std::fabs(ref_loss),
                "loss " << loss << " vs HF " << ref_loss);

  test::lm_backward(model, 1.0 / sums.num_tokens, ctx);
  CHECK(ctx.empty());
  for (Parameter* p : params) {
    expect_all_close("grad " + p->name, p->grad.to_vector<float>(),
                     f.tensor("grad/" + p->name, p->shape), tol);
  }

  const Tensor tokens = batch.at("tokens");
  const Tensor logits = model.causal_lm()->logits(tokens);
  expect_all_close("logits", logits.to_vector<float>(),
                   f.tensor("logits", {tokens.dim(0), tokens.dim(1), vocab}), tol);
}

}  // namespace me::test
