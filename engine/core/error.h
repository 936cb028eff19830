// Errors: me::Error for failures a user can cause (bad recipe, file, flag), ME_CHECK for internal
// invariants. main() catches me::Error, prints it and exits with its ExitCode; nothing here aborts.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace me {

// Process exit codes (README "Exit codes"), so a scheduler's wrapper can tell a run to resume
// from one that needs a person: a bad recipe or flag, bad data, a NaN, a broken checkpoint.
enum class ExitCode : int {
  kSuccess = 0,
  kGeneric = 1,
  kConfig = 2,
  kData = 3,
  kNonFinite = 4,
  kCheckpoint = 5,
  kTimeout = 6,  // a collective stalled past parallel.distributed_timeout_minutes
};

// A user-caused failure. `where` is "file:line:col", "file", a recipe key or empty; what() is the
// full one-line message "where: error: message".
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, std::string where = "", ExitCode code = ExitCode::kGeneric)
      : std::runtime_error(where.empty() ? message : where + ": error: " + message),
        where_(std::move(where)),
        message_(std::move(message)),
        code_(code) {}
  const std::string& where() const { return where_; }
  const std::string& message() const { return message_; }
  ExitCode code() const { return code_; }
  // The same error under `code` when it has none yet: a caller that knows which input failed
  // (the data, a checkpoint) classifies errors thrown by code that does not.
  Error classified(ExitCode code) const {
    Error copy = *this;
    if (copy.code_ == ExitCode::kGeneric) copy.code_ = code;
    return copy;
  }

 private:
  std::string where_;
  std::string message_;
  ExitCode code_;
};

// Several user errors reported together (a recipe with three mistakes names all three); they come
// from reading a recipe, so they exit as config errors.
class ErrorList : public Error {
 public:
  explicit ErrorList(std::vector<Error> errors)
      : Error(join(errors), "", ExitCode::kConfig), errors_(std::move(errors)) {}
  const std::vector<Error>& errors() const { return errors_; }

 private:
  static std::string join(const std::vector<Error>& errors) {
    std::string out;
    for (const auto& e : errors) {
      if (!out.empty()) out.push_back('\n');
      out.append(e.what());
    }
    return out;
  }
  std::vector<Error> errors_;
};

// A broken internal invariant (a bug in megatron-engine, not in the user's input).
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Runs f, re-throwing a me::Error it raises under `code` (README "Exit codes") unless the error
// already carries one; error lists keep theirs.
template <typename F>
auto with_exit_code(ExitCode code, F&& f) {
  try {
    return f();
  } catch (const ErrorList&) {
    throw;
  } catch (const Error& e) {
    throw e.classified(code);
  }
}

}  // namespace me

#define ME_CHECK(cond, ...)                                                                     \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      throw ::me::InternalError(fmt::format("{}:{}: check '{}' failed: {}", __FILE__, __LINE__, \
                                            #cond, fmt::format(__VA_ARGS__)));                  \
    }                                                                                           \
  } while (0)
