// Compiled as part of the nn room (tests/CMakeLists.txt), this must fail: nn may not include the
// train room's headers, which sit above it. The test passes when the build says the header does
// not exist for nn.
#include "engine/train/trainer.h"
