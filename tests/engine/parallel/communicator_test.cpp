// The MPI communicator's float collectives on 4 ranks against hand-computed sums, point-to-point
// messages (buffered sends both ways at once, order per tag), a receive whose sender never sends
// ending the job naming both ranks, and the hang report's wording (which ranks did not arrive,
// every rank's last completed collective).
#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "engine/parallel/communicator.h"
#include "engine/parallel/progress_board.h"
#include "tests/support/mpi_launch.h"

using namespace me;

TEST_CASE("float collectives on 4 MPI ranks give hand-computed results") {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        4, "float collectives on 4 MPI ranks give hand-computed results");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto comm = make_world_communicator();
  comm->set_timeout(60);
  REQUIRE(comm->size() == 4);
  const int64_t r = comm->rank();
  // Rank r holds x[i] = 100 r + i over 8 elements; sums over ranks are 600 + 4 i.
  auto filled = [&] {
    std::vector<float> x(8);
    for (int i = 0; i < 8; ++i) x[static_cast<size_t>(i)] = static_cast<float>(100 * r + i);
    return x;
  };
  std::vector<float> all = filled();
  comm->all_reduce_sum(all.data(), 8);
  for (int i = 0; i < 8; ++i) CHECK(all[static_cast<size_t>(i)] == 600.0f + 4.0f * i);

  std::vector<float> scattered = filled();
  comm->reduce_scatter_sum(scattered.data(), 8);  // chunks of 2: rank r owns [2r, 2r + 2)
  for (int64_t i = 2 * r; i < 2 * r + 2; ++i) {
    CHECK(scattered[static_cast<size_t>(i)] == 600.0f + 4.0f * static_cast<float>(i));
  }

  std::vector<float> gathered(8, -1.0f);
  gathered[static_cast<size_t>(2 * r)] = static_cast<float>(10 * r);
  gathered[static_cast<size_t>(2 * r + 1)] = static_cast<float>(10 * r + 1);
  comm->all_gather(gathered.data(), 8);
  CHECK(gathered == std::vector<float>{0, 1, 10, 11, 20, 21, 30, 31});

  double peak = static_cast<double>(r);
  comm->all_reduce_max(&peak, 1);
  CHECK(peak == 3.0);
  int64_t token = r == 2 ? 42 : 0;
  comm->broadcast(&token, sizeof(token), 2);
  CHECK(token == 42);
  comm->barrier();
}

TEST_CASE("the hang report names the missing ranks and every rank's progress") {
  std::vector<RankProgress> ranks(3);
  for (auto& p : ranks)
    p = {15, static_cast<int64_t>(CollectiveOp::kAllReduceSum),
         14, static_cast<int64_t>(CollectiveOp::kAllReduceMax),
         2,  3};
  ranks[1] = {14, static_cast<int64_t>(CollectiveOp::kAllReduceMax),
              14, static_cast<int64_t>(CollectiveOp::kAllReduceMax),
              2,  3};
  const std::string text = hang_report(0, 15, CollectiveOp::kAllReduceSum, 3.0, ranks);
  CHECK(
      text ==
      "collective #15 all_reduce_sum did not complete within 3 s "
      "(parallel.distributed_timeout_minutes) on rank 0; rank(s) 1 did not arrive. Progress by "
      "rank: [rank 0: in step 3, last completed collective #14 all_reduce_max in step 2, waiting "
      "in #15 all_reduce_sum] [rank 1: in step 3, last completed collective #14 all_reduce_max in "
      "step 2] [rank 2: in step 3, last completed collective #14 all_reduce_max in step 2, "
      "waiting in #15 all_reduce_sum]");
  for (auto& p : ranks) p.entered_seq = 15;
  CHECK(hang_report(2, 15, CollectiveOp::kAllReduceSum, 3.0, ranks).find("every rank entered it") !=
        std::string::npos);
}

TEST_CASE("point-to-point messages cross both ways at once and keep their order per tag") {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        2, "point-to-point messages cross both ways at once and keep their order per tag");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto comm = make_world_communicator();
  comm->set_timeout(60);
  const int64_t r = comm->rank(), other = 1 - r;
  // Both ranks send before either receives: the sends must not wait for the receives.
  for (int i = 0; i < 3; ++i) {
    const double out[2] = {100.0 * r + i, -1.0 * i};
    comm->send(out, sizeof(out), other, 0);
    const float tagged = static_cast<float>(10 * r + i);
    comm->send(&tagged, sizeof(tagged), other, 1);
  }
  // Tag 1 first: tags are matched apart from the order between them.
  for (int i = 0; i < 3; ++i) {
    float tagged = 0;
    comm->recv(&tagged, sizeof(tagged), other, 1);
    CHECK(tagged == static_cast<float>(10 * other + i));
  }
  for (int i = 0; i < 3; ++i) {
    double in[2] = {0, 0};
    comm->recv(in, sizeof(in), other, 0);
    CHECK(in[0] == 100.0 * other + i);
    CHECK(in[1] == -1.0 * i);
  }
  comm->wait_sends();
  comm->barrier();
}

TEST_CASE("a receive from a rank that never sends ends the job naming both ranks") {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        2, "a receive from a rank that never sends ends the job naming both ranks");
    CHECK(run.exit_code != 0);
    CHECK_MESSAGE(run.output.find("[rank 0] error: point-to-point #1 recv from rank 1 did not "
                                  "complete within 1 s (parallel.distributed_timeout_minutes): "
                                  "rank 1 never sent it") != std::string::npos,
                  run.output);
    return;
  }
  auto comm = make_world_communicator();
  comm->set_timeout(1);
  if (comm->rank() == 0) {
    float x = 0;
    comm->recv(&x, sizeof(x), 1);
  }
  std::this_thread::sleep_for(std::chrono::seconds(30));  // rank 1 stalls; the abort ends it
}
