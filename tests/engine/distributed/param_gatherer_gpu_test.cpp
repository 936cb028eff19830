// Started collectives on CUDA: NCCL's start_* (on its communication stream) give the blocking
// results, with compute enqueued after wait() seeing them, several in flight waited out of order;
// on one GPU through a single-rank communicator and on every visible GPU under mpirun. And the
// bf16 model copy of CUDA buffers is refreshed bucket by bucket when a parameter gather is waited
// on, not before.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/core/allocator.h"
#include "engine/parallel/nccl_communicator.h"
#include "engine/distributed/param_gatherer.h"
#include "kernels/elementwise.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/mirror_communicator.h"
#include "tests/support/mpi_launch.h"

using namespace me;

namespace {

void check_started(Communicator& host) {
  const int64_t n = host.size(), r = host.rank(), count = 4 * n;
  const Device device = rank_device(n);
  auto nccl = make_nccl_communicator(host, device.index);
  nccl->set_timeout(60);
  std::vector<float> x(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) x[static_cast<size_t>(i)] = static_cast<float>(100 * r + i);
  const float rank_sum = 100.0f * static_cast<float>(n * (n - 1) / 2);

  Tensor a = Tensor::from_vector(x, {count}).to(device);
  Tensor b = Tensor::from_vector(x, {count}).to(device);
  auto first = nccl->start_all_reduce_sum(a.data<float>(), count);
  auto second = nccl->start_reduce_scatter_sum(b.data<float>(), count);
  second->wait();
  first->wait();
  scale(a, 2.0);  // compute ordered after the collective
  std::vector<float> got = a.to_vector<float>();
  for (int64_t i = 0; i < count; ++i) {
    CHECK(got[static_cast<size_t>(i)] == 2 * (rank_sum + static_cast<float>(n * i)));
  }
  got = b.to_vector<float>();
  for (int64_t i = 4 * r; i < 4 * r + 4; ++i) {
    CHECK(got[static_cast<size_t>(i)] == rank_sum + static_cast<float>(n * i));
  }

  std::vector<float> mine(static_cast<size_t>(count), -1.0f);
  for (int64_t i = 4 * r; i < 4 * r + 4; ++i) mine[static_cast<size_t>(i)] = static_cast<float>(i);
  Tensor c = Tensor::from_vector(mine, {count}).to(device);
  auto gather = nccl->start_all_gather(c.data<float>(), count);
  gather->wait();
  CHECK(gather->ready());
  got = c.to_vector<float>();
  for (int64_t i = 0; i < count; ++i) CHECK(got[static_cast<size_t>(i)] == static_cast<float>(i));
}

}  // namespace

TEST_CASE("NCCL started collectives on one GPU through a single-rank communicator") {
  REQUIRE(cuda::device_count() >= 1);
  SelfCommunicator host;
  check_started(host);
}

TEST_CASE("NCCL started collectives on every visible GPU under mpirun" *
          doctest::skip(test::fewer_than_two_gpus())) {
  const int gpus = cuda::device_count();
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        gpus, "NCCL started collectives on every visible GPU under mpirun");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto host = make_world_communicator();
  host->set_timeout(60);
  check_started(*host);
}

TEST_CASE("a gathered bucket refreshes its range of the bf16 model copy when waited on") {
  REQUIRE(cuda::device_count() >= 1);
  Parameter a{"a", {300}};
  Parameter b{"b", {200}};
  ParamBuffers buffers({&a, &b}, Device::cuda(0), ParamLayoutOptions{64, 150, 2}, DType::kBF16);
  const int64_t total = buffers.layout().total_elems;
  REQUIRE(buffers.layout().buckets.size() == 2);
  std::vector<float> values(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) values[static_cast<size_t>(i)] = 0.01f * (i % 97);
  Tensor& params = buffers.params();
  params.copy_from(Tensor::from_vector(values, {total}));
  buffers.sync_model_params();
  const auto model_copy = [&] {
    std::vector<float> flat(static_cast<size_t>(total), 0.0f);
    for (const ParamSlot& slot : buffers.layout().slots) {
      const std::vector<float> v =
          slot.param->value.to(Device::cpu()).cast(DType::kF32).to_vector<float>();
      std::copy(v.begin(), v.end(), flat.begin() + slot.offset);
    }
    return flat;
  };
  const std::vector<float> before = model_copy();
  // The step: rank 0's halves change; rank 1's (mirrored) are stale until gathered.
  std::vector<float> stepped = values;
  for (const auto& [begin, end] : buffers.layout().buckets) {
    const int64_t half = (end - begin) / 2;
    for (int64_t i = begin; i < begin + half; ++i) {
      stepped[static_cast<size_t>(i)] = 3.0f * values[static_cast<size_t>(i)] + 0.5f;
      stepped[static_cast<size_t>(i + half)] = stepped[static_cast<size_t>(i)];
    }
  }
  std::vector<float> stale = stepped;
  for (const auto& [begin, end] : buffers.layout().buckets) {
    const int64_t half = (end - begin) / 2;
    for (int64_t i = begin + half; i < end; ++i) stale[static_cast<size_t>(i)] = 0.0f;
  }
  params.copy_from(Tensor::from_vector(stale, {total}));
  std::vector<std::string> log;
  test::MirrorCommunicator comm(log, params.data<float>());
  ParamGatherer gatherer(buffers, comm, OptimizerShard{0, 2});
  gatherer.start();
  CHECK(model_copy() == before);
  gatherer.wait_all();
  CHECK(params.to_vector<float>() == stepped);
  // The parameters' elements of the gathered buffer rounded to bf16 (padding stays out).
  const std::vector<float> rounded =
      params.to(Device::cpu()).cast(DType::kBF16).cast(DType::kF32).to_vector<float>();
  std::vector<float> want(rounded.size(), 0.0f);
  for (const ParamSlot& slot : buffers.layout().slots) {
    std::copy_n(rounded.begin() + slot.offset, slot.param->numel(), want.begin() + slot.offset);
  }
  CHECK(model_copy() == want);
  CHECK(want != before);
}
