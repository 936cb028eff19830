# cudnn-frontend, NVIDIA's header-only C++ graph API for cuDNN (fused flash attention), from the
# PyPI package nvidia-cudnn-frontend that third_party/cudnn_frontend/fetch downloads (pinned by
# version and sha256) into $ME_DEPS_DIR or ~/.cache/megatron-engine. Defines the INTERFACE target
# me_cudnn_frontend: its include directory (as a system directory: its warnings are not ours)
# and the definition that keeps its JSON dependency out.
set(ME_CUDNN_FRONTEND_VERSION 1.32.0)
find_path(CUDNN_FRONTEND_INCLUDE_DIR cudnn_frontend.h
  HINTS $ENV{ME_DEPS_DIR}/cudnn-frontend-${ME_CUDNN_FRONTEND_VERSION}/include
        $ENV{HOME}/.cache/megatron-engine/cudnn-frontend-${ME_CUDNN_FRONTEND_VERSION}/include)
if(NOT CUDNN_FRONTEND_INCLUDE_DIR)
  message(FATAL_ERROR "cudnn_frontend.h not found: run scripts/setup (it runs "
    "third_party/cudnn_frontend/fetch), set CUDNN_FRONTEND_INCLUDE_DIR, or configure with "
    "-DME_WITH_CUDA=OFF")
endif()
# The version the sources were written against: another one's API may differ silently.
file(STRINGS ${CUDNN_FRONTEND_INCLUDE_DIR}/cudnn_frontend_version.h version_lines
  REGEX "#define CUDNN_FRONTEND_(MAJOR|MINOR|PATCH)_VERSION")
string(REGEX REPLACE ".*MAJOR_VERSION ([0-9]+).*MINOR_VERSION ([0-9]+).*PATCH_VERSION ([0-9]+).*"
  "\\1.\\2.\\3" found_version "${version_lines}")
if(NOT found_version STREQUAL ME_CUDNN_FRONTEND_VERSION)
  message(FATAL_ERROR "cudnn-frontend ${found_version} in ${CUDNN_FRONTEND_INCLUDE_DIR}; "
    "megatron-engine needs ${ME_CUDNN_FRONTEND_VERSION} (third_party/cudnn_frontend/fetch)")
endif()
add_library(me_cudnn_frontend INTERFACE)
target_include_directories(me_cudnn_frontend SYSTEM INTERFACE ${CUDNN_FRONTEND_INCLUDE_DIR})
target_compile_definitions(me_cudnn_frontend INTERFACE CUDNN_FRONTEND_SKIP_JSON_LIB=1)
