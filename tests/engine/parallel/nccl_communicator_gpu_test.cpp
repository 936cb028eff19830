// The NCCL communicator on CUDA buffers: in-place all-reduce (f32 and bf16), reduce-scatter,
// all-gather and a grouped send/receive exchange on one rank (the identity, through real NCCL
// calls), on every visible GPU under mpirun when there
// are several, and a GradReducer whose buffers live on the GPU.
#include <doctest/doctest.h>

#include <vector>

#include "engine/core/allocator.h"
#include "engine/distributed/grad_reducer.h"
#include "engine/parallel/nccl_communicator.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/mpi_launch.h"

using namespace me;

namespace {

// Rank r holds x[i] = 100 r + i over 4 * size elements on its GPU.
void check_collectives(Communicator& host) {
  const int64_t n = host.size(), r = host.rank(), count = 4 * n;
  const Device device = rank_device(n);
  auto nccl = make_nccl_communicator(host, device.index);
  nccl->set_timeout(60);
  REQUIRE(nccl->takes_device_memory());
  std::vector<float> x(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) x[static_cast<size_t>(i)] = static_cast<float>(100 * r + i);
  const float rank_sum = 100.0f * static_cast<float>(n * (n - 1) / 2);

  Tensor t = Tensor::from_vector(x, {count}).to(device);
  nccl->all_reduce_sum(t.data<float>(), count);
  std::vector<float> got = t.to_vector<float>();
  for (int64_t i = 0; i < count; ++i) {
    CHECK(got[static_cast<size_t>(i)] == rank_sum + static_cast<float>(n * i));
  }

  t = Tensor::from_vector(x, {count}).to(device);
  nccl->reduce_scatter_sum(t.data<float>(), count);
  got = t.to_vector<float>();
  for (int64_t i = 4 * r; i < 4 * r + 4; ++i) {
    CHECK(got[static_cast<size_t>(i)] == rank_sum + static_cast<float>(n * i));
  }

  std::vector<float> mine(static_cast<size_t>(count), -1.0f);
  for (int64_t i = 4 * r; i < 4 * r + 4; ++i) mine[static_cast<size_t>(i)] = static_cast<float>(i);
  t = Tensor::from_vector(mine, {count}).to(device);
  nccl->all_gather(t.data<float>(), count);
  got = t.to_vector<float>();
  for (int64_t i = 0; i < count; ++i) CHECK(got[static_cast<size_t>(i)] == static_cast<float>(i));

  // bf16 in place: rank r adds r + 1 (small integers, exact in bf16).
  Tensor half = Tensor::from_vector(std::vector<float>(8, static_cast<float>(r + 1)), {8})
                    .cast(DType::kBF16)
                    .to(device);
  nccl->all_reduce_sum(half.raw_data(), half.numel(), DType::kBF16);
  for (float v : half.to(Device::cpu()).cast(DType::kF32).to_vector<float>()) {
    CHECK(v == static_cast<float>(n * (n + 1) / 2));
  }

  // A ring exchange: each rank sends 100 r + i to the next and receives from the previous, both
  // posted in one group (a rank of one sends to itself).
  std::vector<float> outgoing(6), expected(6);
  for (int64_t i = 0; i < 6; ++i) {
    outgoing[static_cast<size_t>(i)] = static_cast<float>(100 * r + i);
    expected[static_cast<size_t>(i)] = static_cast<float>(100 * ((r + n - 1) % n) + i);
  }
  Tensor sent = Tensor::from_vector(outgoing, {6}).to(device);
  Tensor received = Tensor::zeros({6}, DType::kF32, device);
  nccl->exchange({{sent.raw_data(), 24, (r + 1) % n, 0}},
                 {{received.raw_data(), 24, (r + n - 1) % n, 0}});
  CHECK(received.to_vector<float>() == expected);

  // Gradients on the GPU, reduced bucket by bucket through NCCL.
  Parameter a{"a", {300}};
  Parameter b{"b", {200}};
  ParamBuffers buffers({&a, &b}, device, ParamLayoutOptions{64, 150, n});  // two buckets
  std::vector<float> ones(static_cast<size_t>(buffers.layout().total_elems), 0.0f);
  for (const ParamSlot& slot : buffers.layout().slots) {
    for (int64_t i = 0; i < slot.param->numel(); ++i) {
      ones[static_cast<size_t>(slot.offset + i)] = static_cast<float>(r + 1);
    }
  }
  buffers.grads().copy_from(Tensor::from_vector(ones, {buffers.layout().total_elems}));
  GradReducer reducer(buffers, *nccl, OptimizerShard{});
  reducer.finish();
  CHECK(reducer.buckets_reduced() == 2);
  for (float g : a.grad.to_vector<float>()) CHECK(g == static_cast<float>(n * (n + 1) / 2));
}

}  // namespace

TEST_CASE("NCCL collectives on one GPU through a single-rank communicator") {
  REQUIRE(cuda::device_count() >= 1);
  SelfCommunicator host;
  check_collectives(host);
}

TEST_CASE("NCCL collectives on every visible GPU under mpirun" *
          doctest::skip(test::fewer_than_two_gpus())) {
  const int gpus = cuda::device_count();
  if (!launched_by_mpi()) {
    const auto run =
        testing::run_self_under_mpi(gpus, "NCCL collectives on every visible GPU under mpirun");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto host = make_world_communicator();
  host->set_timeout(60);
  check_collectives(*host);
}
