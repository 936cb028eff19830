// Partition: shard-to-full index arithmetic against hand-worked positions (row split, column
// split, SwiGLU's two-block split), and slice() picking exactly those elements.
#include <doctest/doctest.h>

#include <vector>

#include "engine/nn/partition.h"

namespace me {

TEST_CASE("partition maps shard elements to their hand-worked full positions") {
  // Full (8, 3) as two blocks of 4 rows ([gate | up]); rank 1 of 2 holds rows 2, 3 and 6, 7.
  const Partition swiglu{0, 1, 2, 2};
  const Shape local{4, 3};
  CHECK(swiglu.full_shape(local) == Shape{8, 3});
  CHECK(swiglu.full_index(local, 0) == 6);    // (0, 0) -> (2, 0)
  CHECK(swiglu.full_index(local, 1) == 7);    // (0, 1) -> (2, 1)
  CHECK(swiglu.full_index(local, 5) == 11);   // (1, 2) -> (3, 2)
  CHECK(swiglu.full_index(local, 8) == 20);   // (2, 2) -> (6, 2)
  CHECK(swiglu.full_index(local, 11) == 23);  // (3, 2) -> (7, 2)

  // Row-parallel weight (2, 6) split by columns; rank 1 holds columns 3..5.
  const Partition columns{1, 1, 2, 1};
  CHECK(columns.full_shape({2, 3}) == Shape{2, 6});
  CHECK(columns.full_index({2, 3}, 0) == 3);  // (0, 0) -> (0, 3)
  CHECK(columns.full_index({2, 3}, 3) == 9);  // (1, 0) -> (1, 3)
  CHECK(columns.full_index({2, 3}, 5) == 11);

  // Contiguous rows, rank 2 of 4 over 8 rows: rows 4, 5.
  const Partition rows{0, 2, 4, 1};
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
  const Tensor shard = Partition{0, 1, 2, 2}.slice(t);
  CHECK(shard.shape() == Shape{4, 3});
  CHECK(shard.to_vector<float>() ==
        std::vector<float>{6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23});
  const Tensor cols = Partition{1, 0, 3, 1}.slice(Tensor::from_vector(full, {4, 6}));
  CHECK(cols.to_vector<float>() == std::vector<float>{0, 1, 6, 7, 12, 13, 18, 19});
}

}  // namespace me
