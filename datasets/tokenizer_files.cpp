// Tokenizer file access shared by the file-based tokenizers (GPT-2 BPE, Hugging Face JSON).
#include "datasets/tokenizer_files.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "datasets/sha256.h"
#include "engine/core/error.h"

namespace me {

const std::string& require_tokenizer_file(const std::optional<std::string>& path,
                                          std::string_view type, std::string_view flag) {
  if (!path || path->empty()) {
    throw Error(fmt::format("tokenizer {} needs {}", type, flag), std::string(flag));
  }
  return *path;
}

std::string read_tokenizer_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error(fmt::format("{} not found", what), path);
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(fmt::format("{} is a directory, expected a file", what), path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open {} for reading", what), path);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw Error(fmt::format("cannot read {}", what), path);
  return bytes;
}

nlohmann::json parse_tokenizer_json(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("malformed JSON at byte {}: {}", e.byte, e.what()), path);
  }
}

std::string tokenizer_contents_sha256(const std::vector<std::string>& contents) {
  std::string out;
  for (const auto& content : contents) {
    if (!out.empty()) out += ',';
    out += sha256_hex(content);
  }
  return out;
}

}  // namespace me
