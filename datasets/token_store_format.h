// Names and rules of the token dataset format (docs/formats.md), shared by its writer and reader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/token_store.h"

namespace me::token_format {

inline constexpr const char* kFormatName = "megatron-engine-tokens";
inline constexpr int64_t kFormatVersion = 1;
inline constexpr const char* kTokens = "tokens";
inline constexpr const char* kDocumentOffsets = "document_offsets";

// Largest vocabulary whose ids fit /tokens stored as uint16 (ids 0..65534, as DESIGN.md fixes).
inline constexpr int64_t kMaxUint16Vocab = 65535;
// Largest vocabulary a reader accepts for each stored dtype: every id must be representable.
inline constexpr int64_t kMaxVocabForUint16 = 65536;
inline constexpr int64_t kMaxVocabForInt32 = int64_t{1} << 31;

// The `sources` attribute: a JSON array of {"path", "bytes", "sha256"} objects.
std::string sources_to_json(const std::vector<SourceFile>& sources);
// Throws me::Error naming `file` when the text is not such an array.
std::vector<SourceFile> sources_from_json(const std::string& text, const std::string& file);

}  // namespace me::token_format
