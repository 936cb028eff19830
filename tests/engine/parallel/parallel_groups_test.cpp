// Sub-groups on 4 MPI ranks laid out tp 2 x dp 2, pp 4 and tp 2 x pp 2: each group holds the
// hand-expected world ranks (tensor fastest) and its sums run over those alone.
#include <doctest/doctest.h>

#include "engine/parallel/parallel_groups.h"
#include "engine/recipe/recipe.h"
#include "tests/support/mpi_launch.h"

using namespace me;

TEST_CASE("tensor and data groups of tp 2 x dp 2 sum over the expected ranks") {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        4, "tensor and data groups of tp 2 x dp 2 sum over the expected ranks");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto world = make_world_communicator();
  world->set_timeout(60);
  REQUIRE(world->size() == 4);
  Recipe recipe{};
  recipe.parallel.tensor_model_parallel_size = 2;
  recipe.parallel.pipeline_model_parallel_size = 1;
  recipe.parallel.context_parallel_size = 1;
  const Topology topo = Topology::build(recipe, 4, world->rank());
  ParallelGroups groups = make_parallel_groups(*world, topo);
  CHECK(groups.tensor->size() == 2);
  CHECK(groups.data->size() == 2);
  // World ranks 0 1 | 2 3 share a tensor group; 0 2 and 1 3 share a data group.
  const int64_t r = world->rank();
  CHECK(groups.tensor->rank() == r % 2);
  CHECK(groups.data->rank() == r / 2);
  double tensor_sum = static_cast<double>(1 << r);
  groups.tensor->all_reduce_sum(&tensor_sum, 1);
  CHECK(tensor_sum == (r < 2 ? 1 + 2 : 4 + 8));
  float data_sum = static_cast<float>(1 << r);
  groups.data->all_reduce_sum(&data_sum, 1);
  CHECK(data_sum == (r % 2 == 0 ? 1 + 4 : 2 + 8));
  double max = static_cast<double>(r);
  groups.data->all_reduce_max(&max, 1);
  CHECK(max == (r % 2 == 0 ? 2 : 3));
}

TEST_CASE("pipeline and embedding groups of tp 2 x pp 2 hold the expected ranks") {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        4, "pipeline and embedding groups of tp 2 x pp 2 hold the expected ranks");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto world = make_world_communicator();
  world->set_timeout(60);
  REQUIRE(world->size() == 4);
  const int64_t r = world->rank();
  for (int64_t tp : {1, 2}) {
    CAPTURE(tp);
    Recipe recipe{};
    recipe.parallel.tensor_model_parallel_size = tp;
    recipe.parallel.pipeline_model_parallel_size = 4 / tp;
    recipe.parallel.context_parallel_size = 1;
    const Topology topo = Topology::build(recipe, 4, r);
    ParallelGroups groups = make_parallel_groups(*world, topo);
    // pp 4: one pipeline group 0 1 2 3, embedding group 0 3; tp 2 x pp 2: pipelines 0 2 and
    // 1 3, which are also the embedding groups (first and last stage).
    CHECK(groups.pipeline->rank() == (tp == 1 ? r : r / 2));
    double pipeline_sum = static_cast<double>(1 << r);
    groups.pipeline->all_reduce_sum(&pipeline_sum, 1);
    CHECK(pipeline_sum == (tp == 1 ? 15 : (r % 2 == 0 ? 1 + 4 : 2 + 8)));
    double embedding_sum = static_cast<double>(1 << r);
    groups.embedding->all_reduce_sum(&embedding_sum, 1);
    const double alone = static_cast<double>(1 << r);
    const double pp4 = r == 0 || r == 3 ? 1 + 8 : alone;
    CHECK(embedding_sum == (tp == 1 ? pp4 : pipeline_sum));
    CHECK(groups.embedding->size() == (tp == 1 && (r == 1 || r == 2) ? 1 : 2));
  }
}
