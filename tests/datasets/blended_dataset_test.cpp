// BlendedDataset over real token stores: proportions, rows equal to the members' samples,
// unweighted and per-split blends, the index cache (reuse, invalidation) and the errors.
#include "datasets/blended_dataset.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "datasets/blend.h"
#include "datasets/gpt_dataset.h"
#include "datasets/make_dataset.h"
#include "datasets/gpt_dataset_schema.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"
#include "tests/datasets/batch_fields.h"
#include "tests/support/process.h"

namespace me {
namespace {

constexpr int32_t kEod = 99;

// Dataset k holds tokens in [30k, 30k + 29) plus EOD, so every token names its dataset.
std::string write_store(const testing::TempDir& dir, int k, int documents,
                        const std::string& tokenizer = "byte") {
  TokenStoreMeta meta;
  meta.tokenizer_type = tokenizer;
  meta.vocab_size = 100;
  meta.eod_id = kEod;
  const std::string path = dir / ("part" + std::to_string(k) + ".h5");
  TokenStoreWriter writer(path, meta);
  for (int d = 0; d < documents; ++d) {
    std::vector<int32_t> doc;
    for (int t = 0; t < 5 + d % 7; ++t) doc.push_back(30 * k + (d + t) % 29);
    doc.push_back(kEod);
    writer.add_document(doc);
  }
  writer.finish();
  return path;
}

Recipe blend_recipe(std::vector<std::string> data_path) {
  Recipe recipe{};
  recipe.model.seq_length = 4;
  recipe.data.data_path = std::move(data_path);
  recipe.data.split = "1,0,0";
  recipe.train.seed = 7;
  return recipe;
}

// The dataset a row of tokens came from (-1 when its tokens come from several).
int dataset_of(const std::vector<int32_t>& tokens, size_t row, size_t width) {
  int found = -1;
  for (size_t t = 0; t < width; ++t) {
    const int32_t token = tokens[row * width + t];
    if (token == kEod) continue;
    const int k = token / 30;
    if (found >= 0 && found != k) return -1;
    found = k;
  }
  return found;
}

const GPTDataset& gpt_member(const BlendedDataset& blend, size_t i) {
  return dynamic_cast<const GPTDataset&>(blend.member(i));
}

template <typename F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return Error("no error");
}

TEST_CASE("weighted blend draws each dataset in its proportion") {
  testing::TempDir dir;
  const std::string a = write_store(dir, 0, 40), b = write_store(dir, 1, 30),
                    c = write_store(dir, 2, 20);
  const Recipe recipe = blend_recipe({"5", a, "3", b, "2", c});
  CHECK(dynamic_cast<BlendedDataset*>(make_dataset("gpt", {recipe, Split::kTrain, 1000}).get()));
  const BlendedDataset ds("gpt", {recipe, Split::kTrain, 1000});
  CHECK(ds.size() == 1000);
  CHECK(ds.weights() == std::vector<double>{0.5, 0.3, 0.2});
  CHECK(ds.member(0).size() >= 503);
  std::vector<int64_t> all(1000);
  for (int64_t i = 0; i < 1000; ++i) all[static_cast<size_t>(i)] = i;
  const auto tokens = ds.batch(all).at("tokens").to_vector<int32_t>();
  std::vector<int64_t> counts(3, 0);
  for (size_t row = 0; row < 1000; ++row) {
    const int k = dataset_of(tokens, row, 4);
    REQUIRE(k >= 0);
    CHECK(k == ds.indices().dataset_index[row]);
    ++counts[static_cast<size_t>(k)];
  }
  CHECK(std::abs(counts[0] / 1000.0 - 0.5) <= 0.01);
  CHECK(std::abs(counts[1] / 1000.0 - 0.3) <= 0.01);
  CHECK(std::abs(counts[2] / 1000.0 - 0.2) <= 0.01);
  // Blended sample 1 is sample 0 of dataset 1 (the hand sequence), row for row.
  const auto one = ds.batch({1}).at("labels").to_vector<int32_t>();
  const auto member = ds.member(1).batch({0}).at("labels").to_vector<int32_t>();
  CHECK(one == member);
  CHECK(ds.batch({0}).tensors.count("document_ids") == 0);
  Recipe masked = recipe;
  masked.family<GptDataConfig>().reset_attention_mask = true;
  const BlendedDataset with_ids("gpt", {masked, Split::kTrain, 1000});
  CHECK(with_ids.batch({0, 1}).at("document_ids").shape() == Shape{2, 4});
}

TEST_CASE("unweighted blend weighs datasets by their sizes") {
  testing::TempDir dir;
  const std::string a = write_store(dir, 0, 60), b = write_store(dir, 1, 20);
  const Recipe recipe = blend_recipe({a, b});
  const BlendedDataset ds("gpt", {recipe, Split::kTrain, 50});
  const double total = static_cast<double>(ds.member(0).size() + ds.member(1).size());
  CHECK(ds.weights()[0] == doctest::Approx(ds.member(0).size() / total));
  CHECK(ds.size() == 50);
  const BlendedDataset everything("gpt", {recipe, Split::kTrain, 0});
  CHECK(everything.size() == ds.member(0).size() + ds.member(1).size());
}

TEST_CASE("per-split blends give each split whole files") {
  testing::TempDir dir;
  const std::string a = write_store(dir, 0, 40), b = write_store(dir, 1, 30);
  Recipe recipe = blend_recipe({});
  recipe.data.split = "1,0,0";  // ignored by per-split blends
  recipe.data.train_data_path = {a};
  recipe.data.valid_data_path = {"0.7", a, "0.3", b};
  CHECK(dynamic_cast<GPTDataset*>(make_dataset("gpt", {recipe, Split::kTrain, 10}).get()));
  CHECK(dynamic_cast<BlendedDataset*>(make_dataset("gpt", {recipe, Split::kValid, 100}).get()));
  const BlendedDataset valid("gpt", {recipe, Split::kValid, 100});
  CHECK(gpt_member(valid, 0).documents().size() == 40);
  CHECK(gpt_member(valid, 1).documents().size() == 30);
  const GPTDataset train({recipe, Split::kTrain, 10});
  CHECK(train.documents().size() == 40);
  const Error missing = error_of([&] { BlendedDataset("gpt", {recipe, Split::kTest, 10}); });
  CHECK(missing.where() == "data.test_data_path");
  const auto files = data_files(recipe.data);
  CHECK(files == std::vector<std::string>{a, b});
}

TEST_CASE("blend indices are cached and reused and rebuilt when a member changes") {
  testing::TempDir dir;
  const std::string a = write_store(dir, 0, 40), b = write_store(dir, 1, 30);
  const Recipe recipe = blend_recipe({"0.6", a, "0.4", b});
  const BlendedDataset first("gpt", {recipe, Split::kTrain, 200});
  REQUIRE_FALSE(first.cache_path().empty());
  CHECK(std::filesystem::exists(first.cache_path()));
  const auto marked = std::filesystem::last_write_time(first.cache_path());
  const BlendedDataset second("gpt", {recipe, Split::kTrain, 200});
  CHECK(second.cache_path() == first.cache_path());
  CHECK(std::filesystem::last_write_time(second.cache_path()) == marked);
  CHECK(second.indices().dataset_index == first.indices().dataset_index);
  // Other weights or a rewritten member give another description, so another cache file.
  const BlendedDataset reweighted("gpt", {blend_recipe({"0.5", a, "0.5", b}), Split::kTrain, 200});
  CHECK(reweighted.cache_path() != first.cache_path());
  write_store(dir, 1, 31);
  const BlendedDataset rewritten("gpt", {recipe, Split::kTrain, 200});
  CHECK(rewritten.cache_path() != first.cache_path());
  // A damaged cache is rebuilt, not read.
  {
    std::FILE* f = std::fopen(rewritten.cache_path().c_str(), "wb");
    std::fputs("garbage", f);
    std::fclose(f);
  }
  const BlendedDataset repaired("gpt", {recipe, Split::kTrain, 200});
  CHECK(repaired.indices().dataset_index == rewritten.indices().dataset_index);
}

TEST_CASE("blend errors: mixed tokenizers and bad weights and several files in gpt") {
  testing::TempDir dir;
  const std::string a = write_store(dir, 0, 40), b = write_store(dir, 1, 30, "GPT2BPETokenizer");
  const Error mixed = error_of([&] {
    BlendedDataset("gpt", {blend_recipe({a, b}), Split::kTrain, 10});
  });
  CHECK(mixed.where() == "data.data_path");
  CHECK(std::string(mixed.what()).find(a) != std::string::npos);
  CHECK(std::string(mixed.what()).find(b) != std::string::npos);
  const Error negative = error_of([&] { parse_blend({"-1", a, "2", a}, "data.data_path"); });
  CHECK(std::string(negative.what()).find("positive") != std::string::npos);
  // A non-numeric weight makes every entry a path, as Megatron's get_blend_from_list.
  const Blend paths = parse_blend({"x", a}, "data.data_path");
  CHECK(paths.paths.size() == 2);
  CHECK_FALSE(paths.weighted());
  const Error several = error_of([&] { GPTDataset({blend_recipe({a, a}), Split::kTrain, 10}); });
  CHECK(several.where() == "data.data_path");
}

TEST_CASE("a blend yields its members' fields, every row equal to the member's row") {
  testing::TempDir dir;
  const std::string a = write_store(dir, 0, 40), b = write_store(dir, 1, 30);
  Recipe recipe = blend_recipe({"0.6", a, "0.4", b});
  recipe.family<GptDataConfig>().reset_attention_mask = true;
  recipe.family<GptDataConfig>().eod_mask_loss = true;
  recipe.family<GptDataConfig>().reset_position_ids = true;
  const BlendedDataset ds("gpt", {recipe, Split::kTrain, 100});
  CHECK(ds.fields() == ds.member(0).fields());
  REQUIRE(ds.fields().size() == 5);
  const std::vector<int64_t> rows{7, 0, 99, 42, 7, 13};
  testing::check_batch_yields_fields(ds, rows);
  const Batch batch = ds.batch(rows);
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto t = static_cast<size_t>(rows[r]);
    const Batch one = ds.member(static_cast<size_t>(ds.indices().dataset_index[t]))
                          .batch({ds.indices().dataset_sample_index[t]});
    for (const auto& [name, tensor] : one.tensors) {
      INFO("row " << r << " '" << name << "'");
      const Tensor row = batch.at(name).view(static_cast<int64_t>(r) * 4, {1, 4});
      if (tensor.dtype() == DType::kF32) {
        CHECK(row.to_vector<float>() == tensor.to_vector<float>());
      } else {
        CHECK(row.to_vector<int32_t>() == tensor.to_vector<int32_t>());
      }
    }
  }
}

}  // namespace
}  // namespace me
