// Where tests find their data, the source tree and the megatron-engine binary: the paths compiled
// in by CMake, unless ME_TEST_DATA_DIR, ME_SOURCE_DIR or ME_BINARY_PATH is set in the environment
// (a bundle run on another machine points them at its copy of the tree).
#pragma once

#include <string>

namespace me::test {

std::string test_data_dir();  // tests/data
std::string source_dir();     // the repository root
std::string binary_path();    // the megatron-engine executable

}  // namespace me::test
