// A request the server refuses: an HTTP status (4xx) and the field to blame, answered as JSON
// {"error": {"message", "type", "param"}, "message"} by the server's error path.
#pragma once

#include <string>

#include "engine/core/error.h"

namespace me::serve {

class RequestError : public Error {
 public:
  RequestError(std::string message, std::string field, int status = 400)
      : Error(std::move(message), std::move(field)), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace me::serve
