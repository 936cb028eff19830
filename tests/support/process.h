// Running the megatron-engine binary from tests, and scratch directories that clean up after
// themselves.
#pragma once

#include <filesystem>
#include <string>

namespace me::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing its output.
CommandResult run_command(const std::string& command);

// `megatron-engine ARGS` with the binary this build made (or $ME_BINARY_PATH).
CommandResult run_engine(const std::string& args);

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes text to a file (creating parent directories).
void write_text(const std::string& path, const std::string& text);

}  // namespace me::testing
