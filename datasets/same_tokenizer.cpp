// The tokenizer identity check shared by BlendedDataset and `megatron-engine merge`.
#include "datasets/same_tokenizer.h"

#include <fmt/format.h>

#include "engine/core/error.h"

namespace me {
namespace {

std::string identity(const TokenStoreMeta& meta) {
  if (meta.tokenizer_sha256.empty()) return meta.tokenizer_type;
  return fmt::format("{} (sha256 {})", meta.tokenizer_type, meta.tokenizer_sha256);
}

}  // namespace

void require_same_tokenizer(const std::string& path_a, const TokenStoreMeta& a,
                            const std::string& path_b, const TokenStoreMeta& b,
                            const std::string& where) {
  if (a.tokenizer_type == b.tokenizer_type && a.tokenizer_sha256 == b.tokenizer_sha256) return;
  throw Error(fmt::format("{} and {} were tokenized differently: {} vs {}; they cannot be combined",
                          path_a, path_b, identity(a), identity(b)),
              where);
}

}  // namespace me
