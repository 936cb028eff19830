// TensorParallel's sequence-parallel collectives and the sequence-split dropout under mpirun with
// 2 ranks, against hand-computed values: all_gather concatenates the ranks' rows in rank order,
// reduce_scatter gives each rank its rows of the sum (f32 through the Communicator's
// reduce-scatter / all-gather, f64 through the exact all-reduce), and a Dropout built under
// sequence parallelism applies to a rank's rows the mask one rank draws for them.
#include "engine/nn/tensor_parallel.h"

#include <doctest/doctest.h>

#include <functional>

#include "engine/nn/dropout.h"
#include "engine/parallel/communicator.h"
#include "tests/support/mpi_launch.h"

namespace me {
namespace {

template <typename T>
Tensor filled(Shape shape, const std::function<double(int64_t)>& value) {
  std::vector<T> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(value(static_cast<int64_t>(i)));
  return Tensor::from_vector(v, std::move(shape));
}

template <typename T>
void check_collectives(const TensorParallel& tp) {
  const int64_t r = tp.rank;
  // Each rank's (2, 3): 10 r + i. Gathered (4, 3): 0..5 then 10..15.
  const Tensor gathered = tp.all_gather(filled<T>({2, 3}, [&](int64_t i) { return 10 * r + i; }));
  REQUIRE(gathered.shape() == Shape({4, 3}));
  const auto g = gathered.to_vector<T>();
  for (int64_t i = 0; i < 12; ++i) CHECK(g[i] == static_cast<T>(i < 6 ? i : 4 + i));
  // Each rank's (4, 2): (r + 1)(i + 1); the sum is 3 (i + 1), rank r keeps elements [4 r, 4 r + 4).
  const Tensor scattered =
      tp.reduce_scatter(filled<T>({4, 2}, [&](int64_t i) { return (r + 1) * (i + 1); }));
  REQUIRE(scattered.shape() == Shape({2, 2}));
  const auto s = scattered.to_vector<T>();
  for (int64_t i = 0; i < 4; ++i) CHECK(s[i] == static_cast<T>(3 * (4 * r + i + 1)));
}

void check_sequence_dropout(const TensorParallel& tp) {
  // One rank's view: the whole (3, 4, 5) and its dropout, forward and backward.
  const auto value = [](int64_t i) { return 1.0 + 0.01 * static_cast<double>(i); };
  const Tensor whole = filled<double>({3, 4, 5}, value);
  MicroBatchContext ctx(true, 11, 2, 1);
  Dropout one("decoder.layers.0.mlp_bda", 0.3);
  const auto want = one.forward(whole, ctx).to_vector<double>();
  const auto want_back = one.backward(whole, ctx).to_vector<double>();
  // This rank's rows: elements [30 r, 30 r + 30) of the (B T, C) token rows, shaped (3, 2, 5).
  std::unique_ptr<Dropout> split;
  {
    TensorParallelScope scope(tp);
    split = std::make_unique<Dropout>("decoder.layers.0.mlp_bda", 0.3);
  }
  const int64_t first = 30 * tp.rank;
  const Tensor mine = filled<double>({3, 2, 5}, [&](int64_t i) { return value(first + i); });
  const auto got = split->forward(mine, ctx).to_vector<double>();
  const auto got_back = split->backward(mine, ctx).to_vector<double>();
  int64_t dropped = 0;
  for (int64_t i = 0; i < 30; ++i) {
    CHECK(got[i] == want[first + i]);
    CHECK(got_back[i] == want_back[first + i]);
    dropped += got[i] == 0.0;
  }
  CHECK(dropped > 0);  // p 0.3 over 30 elements: the mask is not trivially all-keep
  CHECK(dropped < 30);
}

}  // namespace

TEST_CASE("at size 1 all_gather and reduce_scatter return their input") {
  const TensorParallel single;
  const Tensor x = filled<float>({2, 3}, [](int64_t i) { return static_cast<double>(i); });
  CHECK(single.all_gather(x).storage() == x.storage());
  CHECK(single.reduce_scatter(x).storage() == x.storage());
  CHECK_FALSE(TensorParallel{0, 1, nullptr, nullptr, true}.sequence_split());
}

TEST_CASE("tp 2 sequence-parallel collectives and dropout match hand-computed values") {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        2, "tp 2 sequence-parallel collectives and dropout match hand-computed values");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto world = make_world_communicator();
  world->set_timeout(60);
  const TensorParallel tp{world->rank(), world->size(), world.get(), nullptr, true};
  REQUIRE(tp.sequence_split());
  check_collectives<float>(tp);
  check_collectives<double>(tp);
  check_sequence_dropout(tp);
}

}  // namespace me
