// NcclCommunicator: ncclAllReduce / ncclReduceScatter / ncclAllGather in place, ncclSend /
// ncclRecv, on the device's stream, each waited on against the job's timeout (a stall aborts the
// NCCL communicator and the job with ExitCode::kTimeout, naming the operation and its number).
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "engine/core/error.h"
#include "engine/parallel/nccl_communicator.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"

namespace me {
namespace {

void nccl_check(ncclResult_t result, const char* what) {
  if (result != ncclSuccess && result != ncclInProgress) {
    throw Error(fmt::format("{} failed: {}", what, ncclGetErrorString(result)));
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& host, int device) : host_(host), device_(device) {
    ncclUniqueId id;
    if (host_.rank() == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    host_.broadcast(&id, sizeof(id), 0);
    stream_ = cuda::context(Device::cuda(device_)).stream;
    nccl_check(ncclCommInitRank(&comm_, static_cast<int>(host_.size()), id,
                                static_cast<int>(host_.rank())),
               "ncclCommInitRank");
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
  }
  int64_t size() const override { return host_.size(); }
  int64_t rank() const override { return host_.rank(); }
  bool takes_device_memory() const override { return true; }
  void set_timeout(double seconds) override { timeout_seconds_ = seconds; }
  void set_step(int64_t step) override { host_.set_step(step); }

  void all_reduce_sum(float* values, int64_t count) override {
    run("ncclAllReduce", ncclAllReduce(values, values, static_cast<size_t>(count), ncclFloat,
                                       ncclSum, comm_, stream_));
  }
  void reduce_scatter_sum(float* values, int64_t count) override {
    const int64_t chunk = count / size();
    ME_CHECK(chunk * size() == count, "reduce_scatter_sum of {} over {} ranks", count, size());
    run("ncclReduceScatter",
        ncclReduceScatter(values, values + rank() * chunk, static_cast<size_t>(chunk), ncclFloat,
                          ncclSum, comm_, stream_));
  }
  void all_gather(float* values, int64_t count) override {
    const int64_t chunk = count / size();
    ME_CHECK(chunk * size() == count, "all_gather of {} over {} ranks", count, size());
    run("ncclAllGather", ncclAllGather(values + rank() * chunk, values, static_cast<size_t>(chunk),
                                       ncclFloat, comm_, stream_));
  }
  // NCCL has no buffered send: send waits until the peer's recv has taken the bytes, so callers
  // must pair the two sides (pipeline parallelism on CUDA is refused by the recipe until the
  // schedule does). NCCL keeps the order per peer; tags are not needed to match messages.
  void send(const void* data, int64_t bytes, int64_t dest, int) override {
    run("ncclSend", ncclSend(data, static_cast<size_t>(bytes), ncclUint8, static_cast<int>(dest),
                             comm_, stream_));
  }
  void recv(void* data, int64_t bytes, int64_t source, int) override {
    run("ncclRecv", ncclRecv(data, static_cast<size_t>(bytes), ncclUint8,
                             static_cast<int>(source), comm_, stream_));
  }
  // Host-memory collectives stay on the host communicator.
  void all_reduce_sum(double* values, int64_t count) override {
    host_.all_reduce_sum(values, count);
  }
  void all_reduce_max(double* values, int64_t count) override {
    host_.all_reduce_max(values, count);
  }
  void broadcast(void* data, int64_t bytes, int64_t root) override {
    host_.broadcast(data, bytes, root);
  }
  void barrier() override { host_.barrier(); }
  [[noreturn]] void abort(int exit_code) override { host_.abort(exit_code); }

 private:
  // Waits for the operation on the stream, polling so a stall past the timeout ends the job.
  void run(const char* op, ncclResult_t launched) {
    nccl_check(launched, op);
    const int64_t seq = ++seq_;
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::duration<double>(timeout_seconds_ > 0 ? timeout_seconds_ : 1e12);
    while (true) {
      const cudaError_t status = cudaStreamQuery(stream_);
      if (status == cudaSuccess) return;
      if (status != cudaErrorNotReady) ME_CUDA_CHECK(status);
      ncclResult_t async = ncclSuccess;
      nccl_check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
      nccl_check(async, op);
      if (std::chrono::steady_clock::now() >= deadline) {
        std::cerr << fmt::format(
                         "[rank {}] error: NCCL collective #{} {} did not complete within {:g} s "
                         "(parallel.distributed_timeout_minutes); a rank did not arrive\n",
                         rank(), seq, op, timeout_seconds_)
                  << std::flush;
        ncclCommAbort(comm_);
        comm_ = nullptr;
        abort_world(static_cast<int>(ExitCode::kTimeout));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  Communicator& host_;
  int device_;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
  int64_t seq_ = 0;
  double timeout_seconds_ = 0;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, int device) {
  return std::make_unique<NcclCommunicator>(host, device);
}

}  // namespace me
