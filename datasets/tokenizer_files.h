// Reading tokenizer files with errors that name the file: required paths, whole-file reads, JSON
// parsing with the byte position of a syntax error, and the provenance digest of the files.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace me {

// The path of a required tokenizer file, or me::Error "tokenizer TYPE needs --FLAG".
const std::string& require_tokenizer_file(const std::optional<std::string>& path,
                                          std::string_view type, std::string_view flag);

// The file's bytes; me::Error naming it (and `what` it was meant to be) when missing or unreadable.
std::string read_tokenizer_file(const std::string& path, std::string_view what);

// Parses JSON; a syntax error becomes me::Error "PATH: error: malformed JSON at byte N: ...".
nlohmann::json parse_tokenizer_json(const std::string& text, const std::string& path);

// "sha256(file1),sha256(file2)": the digests of the given file contents, in order.
std::string tokenizer_contents_sha256(const std::vector<std::string>& contents);

}  // namespace me
