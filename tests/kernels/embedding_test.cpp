// Embedding: gather by hand, scatter-add gradient with repeated ids against finite differences,
// accumulation, out-of-range ids as user errors, and thread-count determinism.
#include <doctest/doctest.h>

#include <string>

#include "kernels/embedding.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::random_tensor;

TEST_CASE("embedding_forward gathers table rows by id") {
  const Tensor table = Tensor::from_vector<float>({0, 1, 10, 11, 20, 21}, {3, 2});
  const Tensor ids = Tensor::from_vector<int32_t>({2, 0, 2}, {3});
  Tensor out = Tensor::zeros({3, 2}, DType::kF32);
  embedding_forward(ids, table, out);
  CHECK(out.to_vector<float>() == std::vector<float>{20, 21, 0, 1, 20, 21});
}

TEST_CASE("embedding_backward with repeated ids matches f64 finite differences") {
  const uint64_t seed = 12;
  const int64_t vocab = 11, channels = 7;
  // Ids 3 and 5 repeat, several rows are never used (their gradient must stay at the start value).
  const Tensor ids = Tensor::from_vector<int32_t>({3, 5, 3, 0, 10, 5, 3}, {7});
  const Tensor table = random_tensor({vocab, channels}, DType::kF64, seed);
  const Tensor dout = random_tensor({7, channels}, DType::kF64, seed + 1);
  auto loss = [&] {
    Tensor out = Tensor::zeros({7, channels}, DType::kF64);
    embedding_forward(ids, table, out);
    return me::test::weighted_sum(out, dout);
  };
  Tensor dtable = Tensor::zeros({vocab, channels}, DType::kF64);
  embedding_backward(ids, dout, dtable);
  me::test::check_gradient(loss, table, dtable, {}, "embedding dtable seed=12");
  // Accumulates: a second call doubles it.
  Tensor twice = dtable.clone();
  embedding_backward(ids, dout, twice);
  const std::vector<double> once = dtable.to_vector<double>(), two = twice.to_vector<double>();
  for (size_t i = 0; i < once.size(); ++i) CHECK(two[i] == 2 * once[i]);
}

TEST_CASE("embedding reports an out-of-range id with the id and the vocabulary size") {
  const Tensor table = Tensor::zeros({11, 4}, DType::kF32);
  Tensor out = Tensor::zeros({2, 4}, DType::kF32);
  try {
    embedding_forward(Tensor::from_vector<int32_t>({1, 11}, {2}), table, out);
    FAIL("expected me::Error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("token id 11") != std::string::npos);
    CHECK(msg.find("[0, 11)") != std::string::npos);
  }
  Tensor dtable = table.clone();
  CHECK_THROWS_AS(embedding_backward(Tensor::from_vector<int32_t>({-2, 0}, {2}), out, dtable),
                  Error);
}

TEST_CASE("an id on another vocab shard gives a zero row and no gradient") {
  const Tensor table = Tensor::from_vector<float>({0, 1, 10, 11, 20, 21}, {3, 2});
  const Tensor ids = Tensor::from_vector<int32_t>({2, kIdOnAnotherShard, 0}, {3});
  Tensor out = Tensor::from_vector<float>({7, 7, 7, 7, 7, 7}, {3, 2});
  embedding_forward(ids, table, out);
  CHECK(out.to_vector<float>() == std::vector<float>{20, 21, 0, 0, 0, 1});
  Tensor dtable = Tensor::zeros({3, 2}, DType::kF32);
  embedding_backward(ids, Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2}), dtable);
  CHECK(dtable.to_vector<float>() == std::vector<float>{5, 6, 0, 0, 1, 2});
}

TEST_CASE("embedding_backward is bitwise identical with 1 and 2 threads") {
  const Tensor ids = me::test::random_ids({300}, 17, 5);  // many repeats
  const Tensor dout = random_tensor({300, 150}, DType::kF32, 6);
  Tensor a = Tensor::zeros({17, 150}, DType::kF32), b = a.clone();
  {
    me::test::ScopedThreadCount threads(1);
    embedding_backward(ids, dout, a);
  }
  {
    me::test::ScopedThreadCount threads(2);
    embedding_backward(ids, dout, b);
  }
  me::test::expect_bitwise_equal(a, b, "embedding_backward threads 1 vs 2");
}
