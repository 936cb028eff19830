// The batch contract (every mismatch kind, optional specs, several errors in one), and the batch
// allocation and row copy a blend assembles its batches with.
#include "engine/core/batch.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/core/error.h"

using namespace me;

namespace {

const std::vector<TensorSpec> kGptFields{{"tokens", DType::kI32, {2048}},
                                         {"labels", DType::kI32, {2048}},
                                         {"loss_mask", DType::kF32, {2048}},
                                         {"position_ids", DType::kI32, {2048}}};

// The lines of the ErrorList that check_batch_contract throws (empty when it throws none).
std::vector<std::string> contract_errors(const std::vector<TensorSpec>& consumed,
                                         const std::vector<TensorSpec>& provided) {
  try {
    check_batch_contract(consumed, provided, "model 'gpt'", "dataset 'gpt' (data.data_path)");
  } catch (const ErrorList& e) {
    std::vector<std::string> lines;
    for (const Error& error : e.errors()) lines.push_back(error.what());
    CHECK(e.code() == ExitCode::kConfig);
    return lines;
  }
  return {};
}

}  // namespace

TEST_CASE("a dataset that yields every consumed tensor, and more, passes the contract") {
  std::vector<TensorSpec> provided = kGptFields;
  provided.push_back({"document_ids", DType::kI32, {2048}});
  CHECK(contract_errors(kGptFields, provided).empty());
  CHECK(contract_errors({}, provided).empty());
  CHECK(contract_errors(kGptFields, kGptFields).empty());
}

TEST_CASE("a consumed tensor not provided names it, its spec and both sides") {
  std::vector<TensorSpec> consumed = kGptFields;
  consumed.push_back({"document_ids", DType::kI32, {2048}});
  CHECK(contract_errors(consumed, kGptFields) ==
        std::vector<std::string>{"model 'gpt' reads 'document_ids' (i32 [2048]) but dataset 'gpt' "
                                 "(data.data_path) does not yield it"});
}

TEST_CASE("another dtype or another shape is a mismatch naming what the dataset yields") {
  std::vector<TensorSpec> provided = kGptFields;
  provided[1].dtype = DType::kF32;  // labels
  CHECK(contract_errors(kGptFields, provided) ==
        std::vector<std::string>{"model 'gpt' reads 'labels' (i32 [2048]) but dataset 'gpt' "
                                 "(data.data_path) yields 'labels' as f32 [2048]"});
  provided = kGptFields;
  provided[3].shape = {1024};  // position_ids
  CHECK(contract_errors(kGptFields, provided) ==
        std::vector<std::string>{"model 'gpt' reads 'position_ids' (i32 [2048]) but dataset 'gpt' "
                                 "(data.data_path) yields 'position_ids' as i32 [1024]"});
  // One more dimension is a shape mismatch too, even with the same element count.
  provided[3].shape = {1, 2048};
  CHECK(contract_errors(kGptFields, provided).size() == 1);
}

TEST_CASE("an optional spec is consumed when provided and skipped when not") {
  std::vector<TensorSpec> consumed = kGptFields;
  consumed.push_back({"document_ids", DType::kI32, {2048}, /*required=*/false});
  CHECK(contract_errors(consumed, kGptFields).empty());
  std::vector<TensorSpec> provided = kGptFields;
  provided.push_back({"document_ids", DType::kI32, {2048}});
  CHECK(contract_errors(consumed, provided).empty());
  // Provided, it must still match.
  provided.back().dtype = DType::kI64;
  CHECK(contract_errors(consumed, provided) ==
        std::vector<std::string>{"model 'gpt' reads 'document_ids' (i32 [2048]) but dataset 'gpt' "
                                 "(data.data_path) yields 'document_ids' as i64 [2048]"});
}

TEST_CASE("every mismatch is reported at once, in the consumer's order") {
  std::vector<TensorSpec> consumed = kGptFields;
  consumed.push_back({"document_ids", DType::kI32, {2048}});
  const std::vector<TensorSpec> provided{{"tokens", DType::kI64, {2048}},
                                         {"labels", DType::kI32, {2048}},
                                         {"position_ids", DType::kI32, {2047}}};
  const auto lines = contract_errors(consumed, provided);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].find("'tokens' (i32 [2048])") != std::string::npos);
  CHECK(lines[0].find("yields 'tokens' as i64 [2048]") != std::string::npos);
  CHECK(lines[1].find("'loss_mask' (f32 [2048])") != std::string::npos);
  CHECK(lines[1].find("does not yield it") != std::string::npos);
  CHECK(lines[2].find("yields 'position_ids' as i32 [2047]") != std::string::npos);
  CHECK(lines[3].find("'document_ids'") != std::string::npos);
  // what() holds them all, one per line.
  try {
    check_batch_contract(consumed, provided, "c", "p");
    FAIL("no error");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(std::count(what.begin(), what.end(), '\n') == 3);
  }
}

TEST_CASE("allocate_batch lays out the fields and copy_batch_rows puts rows in place") {
  const std::vector<TensorSpec> fields{{"ids", DType::kI32, {3}}, {"weight", DType::kF32, {}}};
  Batch out = allocate_batch(fields, 4);
  CHECK(out.at("ids").shape() == Shape{4, 3});
  CHECK(out.at("ids").dtype() == DType::kI32);
  CHECK(out.at("weight").shape() == Shape{4});
  CHECK(out.at("weight").dtype() == DType::kF32);
  Batch first, second;
  first.tensors["ids"] = Tensor::from_vector<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  first.tensors["weight"] = Tensor::from_vector<float>({0.5f, 1.5f}, {2});
  second.tensors["ids"] = Tensor::from_vector<int32_t>({7, 8, 9, 10, 11, 12}, {2, 3});
  second.tensors["weight"] = Tensor::from_vector<float>({2.5f, 3.5f}, {2});
  copy_batch_rows(first, {3, 0}, out);
  copy_batch_rows(second, {1, 2}, out);
  CHECK(out.at("ids").to_vector<int32_t>() ==
        std::vector<int32_t>{4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3});
  CHECK(out.at("weight").to_vector<float>() == std::vector<float>{1.5f, 2.5f, 3.5f, 0.5f});
  // Rows of another shape or dtype, or outside the batch, are a bug in the caller.
  Batch wide;
  wide.tensors["ids"] = Tensor::from_vector<int32_t>({1, 2, 3, 4}, {1, 4});
  CHECK_THROWS_AS(copy_batch_rows(wide, {0}, out), InternalError);
  CHECK_THROWS_AS(copy_batch_rows(first, {0, 4}, out), InternalError);
}
