// Test paths: an environment variable of the same name overrides the compiled-in default.
#include "tests/support/test_paths.h"

#include <cstdlib>

namespace me::test {
namespace {

std::string from_env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : std::string(fallback);
}

}  // namespace

std::string test_data_dir() { return from_env("ME_TEST_DATA_DIR", ME_TEST_DATA_DIR); }
std::string source_dir() { return from_env("ME_SOURCE_DIR", ME_SOURCE_DIR); }
std::string binary_path() { return from_env("ME_BINARY_PATH", ME_BINARY_PATH); }

}  // namespace me::test
