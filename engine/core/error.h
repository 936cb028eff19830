// Errors: me::Error for failures a user can cause (bad recipe, file, flag), ME_CHECK for internal
// invariants. main() catches me::Error, prints it and exits non-zero; nothing here aborts.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace me {

// A user-caused failure. `where` is "file:line:col", "file", a recipe key or empty; what() is the
// full one-line message "where: error: message".
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, std::string where = "")
      : std::runtime_error(where.empty() ? message : where + ": error: " + message),
        where_(std::move(where)),
        message_(std::move(message)) {}
  const std::string& where() const { return where_; }
  const std::string& message() const { return message_; }

 private:
  std::string where_;
  std::string message_;
};

// Several user errors reported together (a recipe with three mistakes names all three).
class ErrorList : public Error {
 public:
  explicit ErrorList(std::vector<Error> errors) : Error(join(errors)), errors_(std::move(errors)) {}
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

}  // namespace me

#define ME_CHECK(cond, ...)                                                                     \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      throw ::me::InternalError(fmt::format("{}:{}: check '{}' failed: {}", __FILE__, __LINE__, \
                                            #cond, fmt::format(__VA_ARGS__)));                  \
    }                                                                                           \
  } while (0)
