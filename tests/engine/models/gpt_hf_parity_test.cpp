// GPT against Hugging Face GPT-2 (an independent implementation): weights, logits, loss and the
// gradient of every parameter come from scripts/fixtures/make_gpt2_fixture.py (float64 torch).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "engine/recipe/recipe.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

// fp32 forward/backward against a float64 reference: |ours - ref| <= kAbs + kRel * |ref|.
constexpr double kAbs = 1e-5;
constexpr double kRel = 1e-4;

struct Fixture {
  nlohmann::json meta;
  std::vector<float> values;

  std::vector<float> tensor(const std::string& key, const Shape& expected_shape) const {
    REQUIRE_MESSAGE(meta["tensors"].contains(key), "fixture lacks " << key);
    const auto& entry = meta["tensors"][key];
    const Shape shape = entry["shape"].get<Shape>();
    REQUIRE_MESSAGE(shape == expected_shape, key << ": fixture " << shape_str(shape) << " vs ours "
                                                 << shape_str(expected_shape));
    const int64_t offset = entry["offset"].get<int64_t>();
    return {values.begin() + offset, values.begin() + offset + shape_numel(shape)};
  }
};

Fixture load_fixture(const std::string& name) {
  const std::string base = std::string(ME_TEST_DATA_DIR) + "/gpt2/" + name;
  Fixture f;
  std::ifstream json_in(base + ".json");
  REQUIRE_MESSAGE(json_in.good(), "cannot open " << base << ".json");
  f.meta = nlohmann::json::parse(json_in);
  std::ifstream bin_in(base + ".bin", std::ios::binary | std::ios::ate);
  REQUIRE(bin_in.good());
  const auto bytes = static_cast<size_t>(bin_in.tellg());
  f.values.resize(bytes / sizeof(float));
  bin_in.seekg(0);
  bin_in.read(reinterpret_cast<char*>(f.values.data()), static_cast<std::streamsize>(bytes));
  return f;
}

Tensor int_tensor(const nlohmann::json& rows) {
  const auto v = rows.get<std::vector<std::vector<int32_t>>>();
  std::vector<int32_t> flat;
  for (const auto& row : v) flat.insert(flat.end(), row.begin(), row.end());
  return Tensor::from_vector(flat,
                             {static_cast<int64_t>(v.size()), static_cast<int64_t>(v[0].size())});
}

// Counts elements outside tolerance and reports the worst one.
void expect_all_close(const std::string& what, const std::vector<float>& ours,
                      const std::vector<float>& ref) {
  REQUIRE(ours.size() == ref.size());
  size_t bad = 0, worst = 0;
  double worst_excess = -1.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double excess = std::fabs(double(ours[i]) - ref[i]) - (kAbs + kRel * std::fabs(ref[i]));
    if (excess > 0) ++bad;
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " of " << ref.size() << " elements differ; worst ["
                               << worst << "] ours " << ours[worst] << " vs HF " << ref[worst]);
}

void check_parity(const std::string& name, bool untie) {
  const Fixture f = load_fixture(name);
  const auto& cfg = f.meta["config"];
  REQUIRE(cfg["tied"].get<bool>() == !untie);
  test::TinyGpt tiny;
  tiny.num_layers = cfg["num_layers"];
  tiny.hidden_size = cfg["hidden_size"];
  tiny.num_attention_heads = cfg["num_attention_heads"];
  tiny.num_query_groups = tiny.num_attention_heads;
  tiny.ffn_hidden_size = 4 * tiny.hidden_size;
  tiny.max_position_embeddings = cfg["max_position_embeddings"];
  tiny.untie = untie;
  const Recipe recipe = test::tiny_gpt_recipe(tiny);
  const int64_t vocab = cfg["vocab_size"];
  auto model = ModelRegistry::instance().create("gpt", recipe, vocab);

  const auto params = model->parameters();
  test::bind_standalone(params, DType::kF32, 1);
  size_t weights_in_fixture = 0;
  for (const auto& [key, entry] : f.meta["tensors"].items())
    weights_in_fixture += key.rfind("weight/", 0) == 0;
  CHECK(params.size() == weights_in_fixture);
  for (Parameter* p : params) {
    const auto w = f.tensor("weight/" + p->name, p->shape);
    p->value.copy_from(Tensor::from_vector(w, p->shape));
  }

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

  MicroBatchContext ctx(true, 1234, 0, 0);
  const LossSums sums = model->forward(batch, ctx);
  CHECK(sums.num_tokens == f.meta["num_tokens"].get<double>());
  const double loss = sums.loss_sum / sums.num_tokens;
  const double ref_loss = f.meta["loss"].get<double>();
  CHECK_MESSAGE(std::fabs(loss - ref_loss) <= kAbs + kRel * std::fabs(ref_loss),
                "loss " << loss << " vs HF " << ref_loss);

  model->backward(1.0 / sums.num_tokens, ctx);
  CHECK(ctx.empty());
  for (Parameter* p : params) {
    expect_all_close("grad " + p->name, p->grad.to_vector<float>(),
                     f.tensor("grad/" + p->name, p->shape));
  }

  const Tensor logits = model->logits(tokens);
  expect_all_close("logits", logits.to_vector<float>(), f.tensor("logits", {b, t, vocab}));
}

TEST_CASE(
    "gpt matches Hugging Face GPT-2 logits and loss and every gradient with tied embeddings") {
  check_parity("gpt2_tied", false);
}

TEST_CASE("gpt matches Hugging Face GPT-2 with an untied output layer") {
  check_parity("gpt2_untied", true);
}

}  // namespace
}  // namespace me
