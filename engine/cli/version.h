// `megatron-engine --version`: the version and the build matrix it was compiled against.
#pragma once

#include <string>

namespace me {

std::string version_report();

}  // namespace me
