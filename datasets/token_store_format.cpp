// The `sources` attribute of the token dataset as JSON (docs/formats.md).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "datasets/token_store_format.h"
#include "engine/core/error.h"

namespace me {

namespace token_format {

std::string sources_to_json(const std::vector<SourceFile>& sources) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : sources) {
    out.push_back({{"path", s.path}, {"bytes", s.bytes}, {"sha256", s.sha256}});
  }
  return out.dump();
}

std::vector<SourceFile> sources_from_json(const std::string& text, const std::string& file) {
  std::vector<SourceFile> out;
  try {
    const nlohmann::json json = nlohmann::json::parse(text);
    if (!json.is_array()) throw Error("attribute 'sources' is not a JSON array", file);
    for (const auto& item : json) {
      out.push_back({item.at("path").get<std::string>(), item.at("bytes").get<int64_t>(),
                     item.at("sha256").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("attribute 'sources' is malformed: {}", e.what()), file);
  }
  return out;
}

}  // namespace token_format

}  // namespace me
