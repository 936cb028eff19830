// Compiled as part of the nn room (tests/CMakeLists.txt), this must build: nn includes its own
// headers and those of the rooms it uses (parallel, kernels, registry, core), so a failure of the
// upward probe is the direction, not a broken include path.
#include "engine/core/tensor.h"
#include "engine/nn/module.h"
#include "engine/parallel/communicator.h"
#include "engine/registry/registry.h"
#include "kernels/attention.h"
