// Collects compile-time library versions (and, with CUDA, the runtime's view of the GPU stack).
#include "engine/cli/version.h"

#include <H5public.h>
#include <fmt/format.h>
#include <mpi.h>
#include <spdlog/version.h>

#include <boost/version.hpp>

#include "engine/core/build_info.h"

#ifdef ME_WITH_CUDA
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <cudnn_version.h>
#include <nccl.h>
#endif

namespace me {

std::string version_report() {
  std::string out = fmt::format("megatron-engine {}\n", ME_VERSION);
  out += fmt::format("  compiler:   {} ({} build, C++{})\n", ME_COMPILER, ME_BUILD_TYPE,
                     __cplusplus / 100 % 100);
#ifdef ME_WITH_CUDA
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  out += fmt::format("  CUDA:       built {}.{}, driver {}\n", CUDART_VERSION / 1000,
                     CUDART_VERSION % 1000 / 10,
                     driver ? fmt::format("{}.{}", driver / 1000, driver % 1000 / 10) : "none");
  out +=
      fmt::format("  cuBLAS:     {}.{}.{}\n", CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);
  out += fmt::format("  cuDNN:      {}.{}.{}\n", CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
  out += fmt::format("  NCCL:       {}.{}.{}\n", NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH);
  out += fmt::format("  GPU archs:  {}\n", ME_CUDA_ARCHS);
#else
  out += "  CUDA:       not built (CPU only)\n";
#endif
#if defined(OMPI_MAJOR_VERSION)
  out += fmt::format("  MPI:        Open MPI {}.{}.{} (MPI {}.{})\n", OMPI_MAJOR_VERSION,
                     OMPI_MINOR_VERSION, OMPI_RELEASE_VERSION, MPI_VERSION, MPI_SUBVERSION);
#else
  out += fmt::format("  MPI:        MPI {}.{}\n", MPI_VERSION, MPI_SUBVERSION);
#endif
  out += fmt::format("  HDF5:       {}.{}.{}\n", H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
  out += fmt::format("  Boost:      {}.{}.{}\n", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                     BOOST_VERSION % 100);
  out +=
      fmt::format("  spdlog:     {}.{}.{}\n", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH);
  return out;
}

}  // namespace me
