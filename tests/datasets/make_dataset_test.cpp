// make_dataset picks the model's dataset type or a blend of it, and the blend machinery holds
// members of any registered type: a non-GPT type registered here is blended row for row.
#include "datasets/make_dataset.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "datasets/blended_dataset.h"
#include "datasets/gpt_dataset.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"
#include "tests/datasets/batch_fields.h"
#include "tests/support/process.h"

namespace me {
namespace {

// A blend-only dataset type that is not GPT: sample s of file k yields "value" = {k, s} (f32 {2})
// and "sample" = s (i64, one per sample); a file named *wide* adds "extra", so blending it with
// another fails.
class FileRowsDataset final : public Dataset {
 public:
  explicit FileRowsDataset(const DatasetRequest& request) {
    if (!request.member_file) throw Error("file_rows only serves blends");
    const std::string& path = request.member_file->path;
    file_ = path.find("part1") != std::string::npos ? 1 : 0;
    wide_ = path.find("wide") != std::string::npos;
    size_ = request.num_samples > 0 ? request.num_samples : 10;
    description_ = "file_rows of " + path;
  }
  int64_t size() const override { return size_; }
  std::vector<TensorSpec> fields() const override {
    std::vector<TensorSpec> out{{"value", DType::kF32, {2}}, {"sample", DType::kI64, {}}};
    if (wide_) out.push_back({"extra", DType::kI32, {1}});
    return out;
  }
  Batch batch(const std::vector<int64_t>& indices) const override {
    std::vector<float> value;
    std::vector<int64_t> sample;
    for (int64_t s : indices) {
      value.insert(value.end(), {static_cast<float>(file_), static_cast<float>(s)});
      sample.push_back(s);
    }
    const auto b = static_cast<int64_t>(indices.size());
    Batch out;
    out.tensors["value"] = Tensor::from_vector(value, {b, 2});
    out.tensors["sample"] = Tensor::from_vector(sample, {b});
    if (wide_) out.tensors["extra"] = Tensor::zeros({b, 1}, DType::kI32);
    return out;
  }
  const std::string& description() const override { return description_; }

 private:
  int file_ = 0;
  bool wide_ = false;
  int64_t size_ = 0;
  std::string description_;
};

ME_REGISTER(DatasetRegistry, "file_rows", FileRowsDataset);

std::string write_store(const testing::TempDir& dir, const std::string& name) {
  TokenStoreMeta meta;
  meta.tokenizer_type = "byte";
  meta.vocab_size = 100;
  meta.eod_id = 99;
  const std::string path = dir / name;
  TokenStoreWriter writer(path, meta);
  for (int d = 0; d < 20; ++d) writer.add_document(std::vector<int32_t>{1, 2, 3, 4, 5, 99});
  writer.finish();
  return path;
}

Recipe recipe_with(std::vector<std::string> data_path) {
  Recipe recipe{};
  recipe.model.seq_length = 4;
  recipe.data.data_path = std::move(data_path);
  recipe.data.split = "1,0,0";
  recipe.train.seed = 3;
  return recipe;
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

TEST_CASE("make_dataset builds the type itself for one file and mock data, a blend otherwise") {
  testing::TempDir dir;
  const std::string a = write_store(dir, "part0.h5"), b = write_store(dir, "part1.h5");
  CHECK(dynamic_cast<GPTDataset*>(make_dataset("gpt", {recipe_with({a}), Split::kTrain, 5}).get()));
  // One weighted file is a blend (Megatron builds a BlendedDataset for any weights).
  CHECK(dynamic_cast<BlendedDataset*>(
      make_dataset("gpt", {recipe_with({"1", a}), Split::kTrain, 5}).get()));
  CHECK(dynamic_cast<BlendedDataset*>(
      make_dataset("gpt", {recipe_with({a, b}), Split::kTrain, 5}).get()));
  Recipe mock{};
  mock.model.seq_length = 8;
  mock.data.mock_data = true;
  mock.tokenizer.vocab_size = 50;
  CHECK(dynamic_cast<GPTDataset*>(make_dataset("gpt", {mock, Split::kTrain, 5}).get()));
}

TEST_CASE("an unknown dataset type is refused with the known ones before any file is opened") {
  const Error unknown = error_of([&] {
    make_dataset("gtp", {recipe_with({"0.5", "absent.h5", "0.5", "absent.h5"}), Split::kTrain, 5});
  });
  const std::string what = unknown.what();
  CHECK(what.find("unknown dataset 'gtp'; did you mean 'gpt'?") != std::string::npos);
  CHECK(what.find("file_rows") != std::string::npos);
  CHECK(what.find("absent.h5") == std::string::npos);
}

TEST_CASE("a blend of a non-GPT type copies each member's rows into place") {
  testing::TempDir dir;
  const std::string a = write_store(dir, "part0.h5"), b = write_store(dir, "part1.h5");
  const auto made =
      make_dataset("file_rows", {recipe_with({"0.5", a, "0.5", b}), Split::kTrain, 20});
  const auto* blend = dynamic_cast<const BlendedDataset*>(made.get());
  REQUIRE(blend != nullptr);
  CHECK(blend->size() == 20);
  CHECK(blend->fields() == blend->member(0).fields());
  // Equal weights alternate members (ties to the lower index): sample t is member t % 2's sample
  // t / 2. Rows are asked for out of order and twice.
  const std::vector<int64_t> rows{5, 0, 19, 2, 5};
  testing::check_batch_yields_fields(*blend, rows);
  const Batch batch = blend->batch(rows);
  std::vector<float> value;
  std::vector<int64_t> sample;
  for (int64_t t : rows) {
    value.insert(value.end(), {static_cast<float>(t % 2), static_cast<float>(t / 2)});
    sample.push_back(t / 2);
  }
  CHECK(batch.at("value").to_vector<float>() == value);
  CHECK(batch.at("sample").to_vector<int64_t>() == sample);
}

TEST_CASE("a blend of members with other fields is refused naming both files") {
  testing::TempDir dir;
  const std::string a = write_store(dir, "part0.h5"), wide = write_store(dir, "part1_wide.h5");
  const Error mixed = error_of([&] {
    BlendedDataset("file_rows", {recipe_with({"0.5", a, "0.5", wide}), Split::kTrain, 20});
  });
  CHECK(mixed.where() == "data.data_path");
  const std::string what = mixed.what();
  CHECK(what.find(a) != std::string::npos);
  CHECK(what.find(wide) != std::string::npos);
  CHECK(what.find("extra i32 [1]") != std::string::npos);
}

}  // namespace
}  // namespace me
