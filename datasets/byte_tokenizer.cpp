// Byte tokenizer: the identity on bytes plus one end-of-document id.
#include "datasets/byte_tokenizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/core/error.h"

namespace me {

ByteTokenizer::ByteTokenizer(const TokenizerFiles& files) {
  if (files.vocab_file || files.merge_file || files.tokenizer_model) {
    throw Error("the byte tokenizer takes no --vocab-file, --merge-file or --tokenizer-model");
  }
}

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  encode_part(text, true, true, ids);
  return ids;
}

void ByteTokenizer::encode_part(std::string_view text, bool, bool,
                                std::vector<int32_t>& out) const {
  out.insert(out.end(), reinterpret_cast<const uint8_t*>(text.data()),
             reinterpret_cast<const uint8_t*>(text.data()) + text.size());
}

size_t ByteTokenizer::cut_point(std::string_view text, size_t from) const {
  return text.size() > std::max<size_t>(from, 1) ? text.size() - 1 : 0;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string text;
  text.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id > kEodId) {
      throw Error(fmt::format("token id {} is not in the byte vocabulary (0..{})", id, kEodId));
    }
    if (id != kEodId) text.push_back(char(id));
  }
  return text;
}

}  // namespace me

ME_REGISTER(me::TokenizerRegistry, "byte", me::ByteTokenizer);
