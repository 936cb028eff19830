// GPTDataset: hand-computed sample boundaries (megatron-facts 3.5), epochs, batches, determinism,
// the index cache (reuse and rebuild after corruption) and the errors for unusable splits.
#include "datasets/gpt_dataset.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "datasets/gpt_dataset_schema.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"
#include "tests/datasets/batch_fields.h"
#include "tests/support/process.h"

namespace me {
namespace {

constexpr int32_t kEod = 99;

// Documents of lengths 10, 5 and 14, each ending in EOD: 29 tokens, so (29 - 1) / 4 = 7 samples
// of seq_length 4 use every token.
std::vector<std::vector<int32_t>> hand_documents() {
  return {{0, 1, 2, 3, 4, 5, 6, 7, 8, kEod},
          {10, 11, 12, 13, kEod},
          {15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, kEod}};
}

std::string write_documents(const testing::TempDir& dir,
                            const std::vector<std::vector<int32_t>>& docs,
                            const std::string& name = "corpus.h5") {
  TokenStoreMeta meta;
  meta.tokenizer_type = "byte";
  meta.vocab_size = 100;
  meta.eod_id = kEod;
  const std::string path = dir / name;
  TokenStoreWriter writer(path, meta);
  for (const auto& doc : docs) writer.add_document(doc);
  writer.finish();
  return path;
}

Recipe recipe_for(const std::string& path, const std::string& split, int64_t seed = 1234) {
  Recipe recipe{};
  recipe.model.seq_length = 4;
  recipe.data.data_path = {path};
  recipe.data.split = split;
  recipe.train.seed = seed;
  return recipe;
}

// The concatenation of the documents in the dataset's (shuffled) document-index order.
std::vector<int32_t> document_stream(const GPTDataset& ds,
                                     const std::vector<std::vector<int32_t>>& docs) {
  std::vector<int32_t> stream;
  for (int32_t d : ds.indices().document_index) {
    stream.insert(stream.end(), docs[static_cast<size_t>(d)].begin(),
                  docs[static_cast<size_t>(d)].end());
  }
  return stream;
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

TEST_CASE("sample index of three documents, unshuffled, by hand") {
  const std::vector<int64_t> offsets{0, 10, 15, 29};
  const std::vector<int32_t> doc_index{0, 1, 2};
  // Sample j covers stream tokens [4j, 4j + 5): row j is where token 4j lies.
  const std::vector<int64_t> expected{0, 0, 0, 4, 0, 8, 1, 2, 2, 1, 2, 5, 2, 9, 2, 13};
  CHECK(build_sample_index(doc_index, offsets, 4, 7) == expected);
}

TEST_CASE("epoch plan follows megatron's separate_final_epoch rule") {
  EpochPlan one = plan_epochs(29, 7, 4);
  CHECK(one.num_epochs == 1);
  CHECK(one.num_samples == 7);
  CHECK_FALSE(one.separate_final_epoch);
  // 8 samples need 33 tokens: 2 epochs; 8 - 7 = 1 sample from the last < int(0.8 * 7) = 5.
  EpochPlan separate = plan_epochs(29, 8, 4);
  CHECK(separate.num_epochs == 2);
  CHECK(separate.separate_final_epoch);
  CHECK(separate.num_samples_sans_final_epoch == 7);
  CHECK(separate.num_samples == 14);
  // 13 samples: 6 from the last epoch, not < 5.
  CHECK_FALSE(plan_epochs(29, 13, 4).separate_final_epoch);
  CHECK(plan_epochs(29, 0, 4).num_samples == 7);
}

TEST_CASE("gpt samples cross documents, overlap by one token and cover the split") {
  testing::TempDir dir;
  const auto docs = hand_documents();
  GPTDataset ds({recipe_for(write_documents(dir, docs), "1,0,0"), Split::kTrain, 7});
  REQUIRE(ds.size() == 7);
  const auto stream = document_stream(ds, docs);
  REQUIRE(stream.size() == 29);
  std::multiset<int32_t> seen;
  for (int64_t i = 0; i < ds.size(); ++i) {
    const int64_t j = ds.indices().shuffle_index[static_cast<size_t>(i)];
    const std::vector<int32_t> expected(stream.begin() + 4 * j, stream.begin() + 4 * j + 5);
    CHECK(ds.sample_tokens(i) == expected);
    // Each token is the input of exactly one sample, except the very last (only a label).
    seen.insert(expected.begin(), expected.end() - 1);
  }
  seen.insert(stream.back());
  std::multiset<int32_t> all;
  for (const auto& d : docs) all.insert(d.begin(), d.end());
  CHECK(seen == all);
}

TEST_CASE("gpt batch: labels shifted, eod loss mask and position reset by hand") {
  testing::TempDir dir;
  const auto docs = hand_documents();
  Recipe recipe = recipe_for(write_documents(dir, docs), "1,0,0");
  recipe.family<GptDataConfig>().eod_mask_loss = true;
  recipe.family<GptDataConfig>().reset_position_ids = true;
  GPTDataset ds({recipe, Split::kTrain, 7});
  // Find the sample whose stream window holds 8, EOD, then the next document.
  int64_t target = -1;
  for (int64_t i = 0; i < ds.size(); ++i) {
    const auto s = ds.sample_tokens(i);
    if (s[0] == 8 && s[1] == kEod) target = i;
  }
  REQUIRE(target >= 0);
  const Batch batch = ds.batch({target, 0});
  const auto tokens = batch.at("tokens").to_vector<int32_t>();
  const auto labels = batch.at("labels").to_vector<int32_t>();
  const auto loss_mask = batch.at("loss_mask").to_vector<float>();
  const auto positions = batch.at("position_ids").to_vector<int32_t>();
  CHECK(batch.at("tokens").shape() == Shape{2, 4});
  CHECK(batch.at("loss_mask").dtype() == DType::kF32);
  const int32_t next = ds.sample_tokens(target)[2];  // first token of the following document
  CHECK(std::vector<int32_t>(tokens.begin(), tokens.begin() + 4) ==
        std::vector<int32_t>{8, kEod, next, next + 1});
  CHECK(std::vector<int32_t>(labels.begin(), labels.begin() + 4) ==
        std::vector<int32_t>{kEod, next, next + 1, next + 2});
  CHECK(std::vector<float>(loss_mask.begin(), loss_mask.begin() + 4) ==
        std::vector<float>{1, 0, 1, 1});
  CHECK(std::vector<int32_t>(positions.begin(), positions.begin() + 4) ==
        std::vector<int32_t>{0, 1, 0, 1});
  // Row 1 (sample 0): labels are tokens shifted by one, the last label is token 5 of the sample.
  const auto sample0 = ds.sample_tokens(0);
  for (size_t t = 0; t < 4; ++t) {
    CHECK(tokens[4 + t] == sample0[t]);
    CHECK(labels[4 + t] == sample0[t + 1]);
    CHECK(loss_mask[4 + t] == (sample0[t] == kEod ? 0.0f : 1.0f));
  }

  recipe.family<GptDataConfig>().eod_mask_loss = false;
  recipe.family<GptDataConfig>().reset_position_ids = false;
  const Batch plain = GPTDataset({recipe, Split::kTrain, 7}).batch({target});
  CHECK(plain.at("loss_mask").to_vector<float>() == std::vector<float>{1, 1, 1, 1});
  CHECK(plain.at("position_ids").to_vector<int32_t>() == std::vector<int32_t>{0, 1, 2, 3});
}

TEST_CASE("gpt separate final epoch shuffles the last epoch on its own") {
  testing::TempDir dir;
  const auto docs = hand_documents();
  GPTDataset ds({recipe_for(write_documents(dir, docs), "1,0,0"), Split::kTrain, 8});
  REQUIRE(ds.size() == 14);
  const auto& doc_index = ds.indices().document_index;
  REQUIRE(doc_index.size() == 6);
  CHECK(std::set<int32_t>(doc_index.begin(), doc_index.begin() + 3) == std::set<int32_t>{0, 1, 2});
  CHECK(std::set<int32_t>(doc_index.begin() + 3, doc_index.end()) == std::set<int32_t>{0, 1, 2});
  const auto& shuffle = ds.indices().shuffle_index;
  CHECK(*std::max_element(shuffle.begin(), shuffle.begin() + 7) == 6);
  CHECK(*std::min_element(shuffle.begin() + 7, shuffle.end()) == 7);
  const auto stream = document_stream(ds, docs);
  for (int64_t i = 0; i < ds.size(); ++i) {
    const int64_t j = shuffle[static_cast<size_t>(i)];
    CHECK(ds.sample_tokens(i) ==
          std::vector<int32_t>(stream.begin() + 4 * j, stream.begin() + 4 * j + 5));
  }
}

TEST_CASE("gpt samples per split and documents of each split") {
  testing::TempDir dir;
  std::vector<std::vector<int32_t>> docs;
  for (int32_t d = 0; d < 10; ++d) docs.push_back({d * 5, d * 5 + 1, d * 5 + 2, d * 5 + 3, kEod});
  const std::string path = write_documents(dir, docs);
  // 6/2/2 of 10 documents: 30, 10 and 10 tokens; one epoch gives (30-1)/4 = 7 and (10-1)/4 = 2.
  CHECK(GPTDataset({recipe_for(path, "6,2,2"), Split::kTrain, 0}).size() == 7);
  CHECK(GPTDataset({recipe_for(path, "6,2,2"), Split::kTest, 0}).size() == 2);
  // 5 valid samples need 21 tokens: 3 epochs of documents 6 and 7, (30-1)/4 = 7 samples.
  GPTDataset valid({recipe_for(path, "6,2,2"), Split::kValid, 5});
  CHECK(valid.size() == 7);
  CHECK(valid.documents().begin == 6);
  CHECK(valid.documents().end == 8);
  for (int32_t d : valid.indices().document_index) CHECK((d == 6 || d == 7));
}

TEST_CASE("gpt order is deterministic in the seed") {
  testing::TempDir dir;
  std::vector<std::vector<int32_t>> docs;
  for (int32_t d = 0; d < 40; ++d) docs.push_back({d, d, d, kEod});
  const std::string path = write_documents(dir, docs);
  auto order = [&](int64_t seed, const std::string& cache) {
    Recipe recipe = recipe_for(path, "1,0,0", seed);
    recipe.data.data_cache_path = dir / cache;
    const GPTDataset ds({recipe, Split::kTrain, 0});
    return std::make_pair(ds.indices().document_index, ds.indices().shuffle_index);
  };
  CHECK(order(7, "a") == order(7, "b"));
  CHECK(order(7, "a").first != order(8, "c").first);
  CHECK(order(7, "a").second != order(8, "c").second);
}

TEST_CASE("gpt index cache is reused, and rebuilt when corrupt") {
  testing::TempDir dir;
  const std::string path = write_documents(dir, hand_documents());
  const Recipe recipe = recipe_for(path, "1,0,0");
  const GPTDataset first({recipe, Split::kTrain, 7});
  const std::string cache = first.cache_path();
  REQUIRE(std::filesystem::exists(cache));
  CHECK(std::filesystem::path(cache).parent_path() == dir.path() / "cache");
  // File times are only as fine as the kernel's clock tick, so mark the file with an old time
  // that a rewrite could not reproduce.
  const auto marked = std::filesystem::last_write_time(cache) - std::chrono::hours(1);
  std::filesystem::last_write_time(cache, marked);

  const GPTDataset second({recipe, Split::kTrain, 7});
  CHECK(second.cache_path() == cache);
  CHECK(std::filesystem::last_write_time(cache) == marked);
  CHECK(second.indices().shuffle_index == first.indices().shuffle_index);
  CHECK(second.indices().sample_index == first.indices().sample_index);

  // Other settings use another cache file.
  const GPTDataset longer({recipe, Split::kTrain, 8});
  CHECK(longer.cache_path() != cache);

  for (bool truncate : {false, true}) {
    if (truncate) {
      std::filesystem::resize_file(cache, std::filesystem::file_size(cache) / 2);
    } else {
      testing::write_text(cache, "garbage");
    }
    const GPTDataset rebuilt({recipe, Split::kTrain, 7});
    CHECK(rebuilt.indices().shuffle_index == first.indices().shuffle_index);
    CHECK(rebuilt.indices().document_index == first.indices().document_index);
    // The rebuilt cache is whole again: the next construction loads it unchanged.
    CHECK(std::filesystem::last_write_time(cache) != marked);
    std::filesystem::last_write_time(cache, marked);
    const GPTDataset reloaded({recipe, Split::kTrain, 7});
    CHECK(std::filesystem::last_write_time(cache) == marked);
    CHECK(reloaded.indices().shuffle_index == first.indices().shuffle_index);
  }
}

TEST_CASE("gpt errors: empty split, split too small, blend, no data") {
  testing::TempDir dir;
  const std::string path = write_documents(dir, hand_documents());
  Error empty = error_of([&] { GPTDataset({recipe_for(path, "1,0,0"), Split::kValid, 1}); });
  CHECK(empty.where() == "data.split");
  CHECK(std::string(empty.what()).find(path) != std::string::npos);
  CHECK(std::string(empty.what()).find("valid split") != std::string::npos);

  const std::string tiny = write_documents(dir, {{1, 2}, {3, kEod}}, "tiny.h5");
  Error small = error_of([&] { GPTDataset({recipe_for(tiny, "1,0,0"), Split::kTrain, 1}); });
  CHECK(small.where() == "data.split");
  CHECK(std::string(small.what()).find("fewer than one sample") != std::string::npos);
  CHECK(std::string(small.what()).find(tiny) != std::string::npos);

  Recipe blend = recipe_for(path, "1,0,0");
  blend.data.data_path = {"0.5", path, "0.5", tiny};
  CHECK(error_of([&] { GPTDataset({blend, Split::kTrain, 1}); }).where() == "data.data_path");
  blend.data.data_path = {};
  CHECK(error_of([&] { GPTDataset({blend, Split::kTrain, 1}); }).where() == "data.data_path");
  blend.data.data_path = {"1.0", path};
  CHECK(GPTDataset({blend, Split::kTrain, 7}).size() == 7);
}

TEST_CASE("gpt dataset is registered and mock data follows megatron's mock corpus") {
  Recipe recipe{};
  recipe.model.seq_length = 32;
  recipe.data.mock_data = true;
  recipe.tokenizer.vocab_size = 1000;
  recipe.train.seed = 1;
  auto ds = DatasetRegistry::instance().create("gpt", DatasetRequest{recipe, Split::kTrain, 20});
  REQUIRE(ds->size() >= 20);
  const Batch batch = ds->batch({0, 5, 19});
  const auto tokens = batch.at("tokens").to_vector<int32_t>();
  const auto labels = batch.at("labels").to_vector<int32_t>();
  const int32_t eod = 999;
  // Mock documents count 1, 2, 3, ... and end in EOD, so each label follows its token by one,
  // or the token is EOD (a new document starts at 1, or is a lone EOD), or the label is EOD.
  for (size_t k = 0; k < tokens.size(); ++k) {
    const bool counting = labels[k] == tokens[k] + 1;
    const bool boundary =
        (tokens[k] == eod && (labels[k] == 1 || labels[k] == eod)) || labels[k] == eod;
    CHECK((counting || boundary));
  }
  auto* gpt = dynamic_cast<GPTDataset*>(ds.get());
  REQUIRE(gpt != nullptr);
  CHECK(gpt->source().num_documents() == 100000);
  CHECK(gpt->cache_path().empty());

  recipe.tokenizer.vocab_size.reset();
  CHECK(error_of([&] {
          GPTDataset({recipe, Split::kTrain, 1});
        }).where() == "tokenizer.vocab_size");
}

TEST_CASE("gpt batch carries document ids with reset_attention_mask") {
  // By hand: ids rise right after each EOD, per row.
  CHECK(document_ids_after_eod(Tensor::from_vector<int32_t>({5, 9, 9, 4, 9, 9, 1, 2}, {2, 4}), 9)
            .to_vector<int32_t>() == std::vector<int32_t>{0, 0, 1, 2, 0, 1, 2, 2});
  testing::TempDir dir;
  Recipe recipe = recipe_for(write_documents(dir, hand_documents()), "1,0,0");
  recipe.family<GptDataConfig>().reset_attention_mask = true;
  GPTDataset ds({recipe, Split::kTrain, 7});
  int64_t target = -1;  // the sample whose window holds 8, EOD, then the next document
  for (int64_t i = 0; i < ds.size(); ++i) {
    const auto s = ds.sample_tokens(i);
    if (s[0] == 8 && s[1] == kEod) target = i;
  }
  REQUIRE(target >= 0);
  const Batch batch = ds.batch({target});
  CHECK(batch.at("document_ids").dtype() == DType::kI32);
  CHECK(batch.at("document_ids").to_vector<int32_t>() == std::vector<int32_t>{0, 0, 1, 1});
  recipe.family<GptDataConfig>().reset_attention_mask = false;
  CHECK(GPTDataset({recipe, Split::kTrain, 7}).batch({target}).tensors.count("document_ids") == 0);
}

TEST_CASE("gpt fields: Megatron's four (B, seq_length) tensors, document_ids with the mask") {
  testing::TempDir dir;
  Recipe recipe = recipe_for(write_documents(dir, hand_documents()), "1,0,0");
  const std::vector<TensorSpec> plain{{"tokens", DType::kI32, {4}},
                                      {"labels", DType::kI32, {4}},
                                      {"loss_mask", DType::kF32, {4}},
                                      {"position_ids", DType::kI32, {4}}};
  const GPTDataset ds({recipe, Split::kTrain, 7});
  CHECK(ds.fields() == plain);
  testing::check_batch_yields_fields(ds, {0, 6, 3});
  recipe.family<GptDataConfig>().reset_attention_mask = true;
  std::vector<TensorSpec> masked = plain;
  masked.push_back({"document_ids", DType::kI32, {4}});
  const GPTDataset with_ids({recipe, Split::kTrain, 7});
  CHECK(with_ids.fields() == masked);
  testing::check_batch_yields_fields(with_ids, {1, 2});
}

TEST_CASE("mock data yields the gpt fields") {
  Recipe recipe{};
  recipe.model.seq_length = 16;
  recipe.data.mock_data = true;
  recipe.family<GptDataConfig>().reset_attention_mask = true;
  recipe.tokenizer.vocab_size = 300;
  recipe.train.seed = 5;
  const GPTDataset ds({recipe, Split::kValid, 10});
  REQUIRE(ds.fields().size() == 5);
  CHECK(ds.fields()[0] == TensorSpec{"tokens", DType::kI32, {16}});
  CHECK(ds.fields()[4] == TensorSpec{"document_ids", DType::kI32, {16}});
  testing::check_batch_yields_fields(ds, {9, 0, 4});
}

}  // namespace
}  // namespace me
