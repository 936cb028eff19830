// Partition: shard-to-full index arithmetic against hand-worked positions (row split, column
// split, SwiGLU's two-block split, Mamba-like unequal blocks on either dimension), slice()
// picking exactly those elements, and init of unequal-block shards equal to the slices of the
// unsharded init.
#include <doctest/doctest.h>

#include <vector>

#include "engine/nn/parameter.h"
#include "engine/nn/partition.h"
#include "tests/support/standalone_parameters.h"

namespace me {

TEST_CASE("partition maps shard elements to their hand-worked full positions") {
  // Full (8, 3) as two blocks of 4 rows ([gate | up]); rank 1 of 2 holds rows 2, 3 and 6, 7.
  const Partition swiglu{0, 1, 2, {4, 4}};
  const Shape local{4, 3};
  CHECK(swiglu.full_shape(local) == Shape{8, 3});
  CHECK(swiglu.full_index(local, 0) == 6);    // (0, 0) -> (2, 0)
  CHECK(swiglu.full_index(local, 1) == 7);    // (0, 1) -> (2, 1)
  CHECK(swiglu.full_index(local, 5) == 11);   // (1, 2) -> (3, 2)
  CHECK(swiglu.full_index(local, 8) == 20);   // (2, 2) -> (6, 2)
  CHECK(swiglu.full_index(local, 11) == 23);  // (3, 2) -> (7, 2)

  // Row-parallel weight (2, 6) split by columns; rank 1 holds columns 3..5.
  const Partition columns{1, 1, 2};
  CHECK(columns.full_shape({2, 3}) == Shape{2, 6});
  CHECK(columns.full_index({2, 3}, 0) == 3);  // (0, 0) -> (0, 3)
  CHECK(columns.full_index({2, 3}, 3) == 9);  // (1, 0) -> (1, 3)
  CHECK(columns.full_index({2, 3}, 5) == 11);

  // Contiguous rows, rank 2 of 4 over 8 rows: rows 4, 5.
  const Partition rows{0, 2, 4};
  CHECK(rows.full_index({2}, 0) == 4);
  CHECK(rows.full_index({2}, 1) == 5);

  const Partition whole{};
  CHECK_FALSE(whole.sharded());
  CHECK(whole.full_shape({5, 2}) == Shape{5, 2});
  CHECK(whole.full_index({5, 2}, 7) == 7);
}

TEST_CASE("partition slice takes this rank's rows of each block") {
  std::vector<float> full(24);
  for (int i = 0; i < 24; ++i) full[static_cast<size_t>(i)] = static_cast<float>(i);
  const Tensor t = Tensor::from_vector(full, {8, 3});
  const Tensor shard = Partition{0, 1, 2, {4, 4}}.slice(t);
  CHECK(shard.shape() == Shape{4, 3});
  CHECK(shard.to_vector<float>() == std::vector<float>{6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23});
  const Tensor cols = Partition{1, 0, 3}.slice(Tensor::from_vector(full, {4, 6}));
  CHECK(cols.to_vector<float>() == std::vector<float>{0, 1, 6, 7, 12, 13, 18, 19});
}

TEST_CASE("partition with unequal blocks maps each block's part to its full positions") {
  // Full (10, 2) as blocks of 4, 2 and 4 rows (in_proj's [z | dt | x] shape of fused blocks);
  // rank 1 of 2 holds rows 2, 3 (block 0), 5 (block 1) and 8, 9 (block 2).
  const Partition rank1{0, 1, 2, {4, 2, 4}};
  const Shape local{5, 2};
  CHECK(rank1.full_shape(local) == Shape{10, 2});
  CHECK(rank1.full_index(local, 0) == 4);   // (0, 0) -> (2, 0)
  CHECK(rank1.full_index(local, 3) == 7);   // (1, 1) -> (3, 1)
  CHECK(rank1.full_index(local, 4) == 10);  // (2, 0) -> (5, 0)
  CHECK(rank1.full_index(local, 5) == 11);  // (2, 1) -> (5, 1)
  CHECK(rank1.full_index(local, 6) == 16);  // (3, 0) -> (8, 0)
  CHECK(rank1.full_index(local, 9) == 19);  // (4, 1) -> (9, 1)
  const Partition rank0{0, 0, 2, {4, 2, 4}};
  CHECK(rank0.full_index(local, 4) == 8);   // (2, 0) -> (4, 0)
  CHECK(rank0.full_index(local, 7) == 13);  // (3, 1) -> (6, 1)

  std::vector<float> full(20);
  for (int i = 0; i < 20; ++i) full[static_cast<size_t>(i)] = static_cast<float>(i);
  const Tensor t = Tensor::from_vector(full, {10, 2});
  CHECK(rank1.slice(t).shape() == local);
  CHECK(rank1.slice(t).to_vector<float>() ==
        std::vector<float>{4, 5, 6, 7, 10, 11, 16, 17, 18, 19});
  CHECK(rank0.slice(t).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 8, 9, 12, 13, 14, 15});

  // Along columns: full (2, 6) as blocks of 2 and 4 columns; rank 0 holds columns 0, 2 and 3.
  const Partition columns{1, 0, 2, {2, 4}};
  CHECK(columns.full_shape({2, 3}) == Shape{2, 6});
  CHECK(columns
            .slice(Tensor::from_vector(std::vector<float>(full.begin(), full.begin() + 12), {2, 6}))
            .to_vector<float>() == std::vector<float>{0, 2, 3, 6, 8, 9});

  // Blocks that do not split over the ranks, or do not fill the dimension, are refused.
  CHECK_THROWS(Partition{0, 0, 2, {3, 3}}.full_shape({3, 2}));
  CHECK_THROWS(Partition{0, 0, 2, {4, 2}}.slice(t));
}

TEST_CASE("unequal-block shards initialise as the slices of the unsharded init") {
  for (int dim : {0, 1}) {
    CAPTURE(dim);
    const Shape whole_shape = dim == 0 ? Shape{12, 3} : Shape{3, 12};
    const std::vector<int64_t> blocks = {6, 2, 4};  // full lengths along dim, each split in two
    Parameter whole{"in_proj.weight", whole_shape, ParamInit::normal(1.0), true};
    test::bind_standalone({&whole}, DType::kF64, 11);
    for (int64_t rank : {0, 1}) {
      CAPTURE(rank);
      Shape local = whole_shape;
      local[static_cast<size_t>(dim)] /= 2;
      Parameter shard{"in_proj.weight", local, ParamInit::normal(1.0), true};
      shard.partition = Partition{dim, rank, 2, blocks};
      test::bind_standalone({&shard}, DType::kF64, 11);
      const std::vector<double> got = shard.main.to_vector<double>();
      CHECK(got == shard.partition.slice(whole.main).to_vector<double>());
      CHECK(got != Partition{dim, rank, 2}.slice(whole.main).to_vector<double>());  // not one block
    }
  }
}

}  // namespace me
