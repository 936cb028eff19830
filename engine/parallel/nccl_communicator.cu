// NcclCommunicator: ncclAllReduce / ncclReduceScatter / ncclAllGather in place, ncclSend /
// ncclRecv, on the device's stream, each waited on against the job's timeout (a stall aborts the
// NCCL communicator and the job with ExitCode::kTimeout, naming the operation and its number).
// Started collectives (start_*) run on a communication stream of their own instead.
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <exception>
#include <iostream>
#include <thread>

#include "engine/core/error.h"
#include "engine/parallel/nccl_communicator.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"

namespace me {
namespace {

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return ncclFloat;
    case DType::kF64:
      return ncclDouble;
    case DType::kBF16:
      return ncclBfloat16;
    case DType::kF16:
      return ncclHalf;
    default:
      throw Error(fmt::format("NCCL collectives of {} are not supported", dtype_name(dtype)));
  }
}

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
    if (comm_stream_) cudaStreamDestroy(comm_stream_);
  }
  int64_t size() const override { return host_.size(); }
  int64_t rank() const override { return host_.rank(); }
  bool takes_device_memory() const override { return true; }
  void set_timeout(double seconds) override { timeout_seconds_ = seconds; }
  void set_step(int64_t step) override { host_.set_step(step); }

  void all_reduce_sum(float* values, int64_t count) override {
    all_reduce_sum(values, count, DType::kF32);
  }
  void reduce_scatter_sum(float* values, int64_t count) override {
    reduce_scatter_sum(values, count, DType::kF32);
  }
  void all_gather(float* values, int64_t count) override { all_gather(values, count, DType::kF32); }
  void all_reduce_sum(void* values, int64_t count, DType dtype) override {
    run("ncclAllReduce", ncclAllReduce(values, values, static_cast<size_t>(count), nccl_type(dtype),
                                       ncclSum, comm_, stream_));
  }
  void reduce_scatter_sum(void* values, int64_t count, DType dtype) override {
    const int64_t chunk = count / size();
    ME_CHECK(chunk * size() == count, "reduce_scatter_sum of {} over {} ranks", count, size());
    char* bytes = static_cast<char*>(values);
    run("ncclReduceScatter",
        ncclReduceScatter(bytes, bytes + rank() * chunk * dtype_size(dtype),
                          static_cast<size_t>(chunk), nccl_type(dtype), ncclSum, comm_, stream_));
  }
  void all_gather(void* values, int64_t count, DType dtype) override {
    const int64_t chunk = count / size();
    ME_CHECK(chunk * size() == count, "all_gather of {} over {} ranks", count, size());
    char* bytes = static_cast<char*>(values);
    run("ncclAllGather",
        ncclAllGather(bytes + rank() * chunk * dtype_size(dtype), bytes, static_cast<size_t>(chunk),
                      nccl_type(dtype), comm_, stream_));
  }
  // NCCL has no buffered send: a send completes only once the peer receives, so the pipeline
  // posts each step's sends and receives as one exchange (pipeline_transfers.h). NCCL keeps the
  // order per peer, so tags are not needed to match messages (the schedule issues them in the same
  // order on both sides).
  void send(const void* data, int64_t bytes, int64_t dest, int) override {
    run("ncclSend", ncclSend(data, static_cast<size_t>(bytes), ncclUint8, static_cast<int>(dest),
                             comm_, stream_));
  }
  void recv(void* data, int64_t bytes, int64_t source, int) override {
    run("ncclRecv", ncclRecv(data, static_cast<size_t>(bytes), ncclUint8, static_cast<int>(source),
                             comm_, stream_));
  }
  void exchange(const std::vector<PeerMessage>& sends,
                const std::vector<PeerMessage>& receives) override {
    nccl_check(ncclGroupStart(), "ncclGroupStart");
    for (const PeerMessage& m : sends) {
      nccl_check(ncclSend(m.data, static_cast<size_t>(m.bytes), ncclUint8, static_cast<int>(m.peer),
                          comm_, stream_),
                 "ncclSend");
    }
    for (const PeerMessage& m : receives) {
      nccl_check(ncclRecv(m.data, static_cast<size_t>(m.bytes), ncclUint8, static_cast<int>(m.peer),
                          comm_, stream_),
                 "ncclRecv");
    }
    run("ncclSend/ncclRecv group", ncclGroupEnd());
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
  // A started collective: its completion event on the communication stream.
  class Pending final : public PendingCollective {
   public:
    Pending(NcclCommunicator& comm, const char* op, int64_t seq, cudaEvent_t done)
        : comm_(comm), op_(op), seq_(seq), done_(done) {}
    ~Pending() override {
      if (done_ && std::uncaught_exceptions() == 0) wait();
    }
    // Polls against the timeout, then orders the compute stream after the collective.
    void wait() override {
      if (!done_) return;
      comm_.poll(op_, seq_, [&] { return cudaEventQuery(done_); });
      ME_CUDA_CHECK(cudaStreamWaitEvent(comm_.stream_, done_, 0));
      ME_CUDA_CHECK(cudaEventDestroy(done_));
      done_ = nullptr;
    }
    bool ready() override { return !done_ || cudaEventQuery(done_) == cudaSuccess; }

   private:
    NcclCommunicator& comm_;
    const char* op_;
    int64_t seq_;
    cudaEvent_t done_;
  };

  // Launches on comm_stream_ after the work enqueued on the compute stream so far. The stream is
  // non-blocking: the legacy default stream the kernels run on does not wait for it implicitly,
  // so backward goes on while the collective runs. Its buffers are the persistent flat buffers,
  // never freed into the caching allocator while in flight.
  template <typename Launch>
  std::unique_ptr<PendingCollective> start(const char* op, Launch launch) {
    if (!comm_stream_) {
      ME_CUDA_CHECK(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking));
    }
    cudaEvent_t enqueued = nullptr, done = nullptr;
    ME_CUDA_CHECK(cudaEventCreateWithFlags(&enqueued, cudaEventDisableTiming));
    ME_CUDA_CHECK(cudaEventRecord(enqueued, stream_));
    ME_CUDA_CHECK(cudaStreamWaitEvent(comm_stream_, enqueued, 0));
    ME_CUDA_CHECK(cudaEventDestroy(enqueued));  // released once recorded and waited on
    nccl_check(launch(comm_stream_), op);
    ME_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    ME_CUDA_CHECK(cudaEventRecord(done, comm_stream_));
    return std::make_unique<Pending>(*this, op, ++seq_, done);
  }

  // Waits for the operation on the stream, polling so a stall past the timeout ends the job.
  void run(const char* op, ncclResult_t launched) {
    nccl_check(launched, op);
    poll(op, ++seq_, [&] { return cudaStreamQuery(stream_); });
  }

  // Polls `query` (cudaSuccess once done) until done; past the timeout the job ends.
  template <typename Query>
  void poll(const char* op, int64_t seq, Query query) {
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::duration<double>(timeout_seconds_ > 0 ? timeout_seconds_ : 1e12);
    while (true) {
      const cudaError_t status = query();
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
  cudaStream_t comm_stream_ = nullptr;  // started collectives; created on first use
  ncclComm_t comm_ = nullptr;
  int64_t seq_ = 0;
  double timeout_seconds_ = 0;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, int device) {
  return std::make_unique<NcclCommunicator>(host, device);
}

}  // namespace me
