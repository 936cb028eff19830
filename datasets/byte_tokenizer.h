// The "byte" tokenizer: token i < 256 is the byte i of the UTF-8 (or any) text, 256 is the end of
// document. Needs no files; decode(encode(x)) == x for every byte string. Any byte is a safe cut.
#pragma once

#include "datasets/piecewise_encoder.h"
#include "datasets/tokenizer.h"

namespace me {

class ByteTokenizer final : public Tokenizer, public PiecewiseEncoder {
 public:
  static constexpr int32_t kEodId = 256;

  explicit ByteTokenizer(const TokenizerFiles& files = {});
  std::vector<int32_t> encode(std::string_view text) const override;
  // The eod id decodes to nothing; an id outside [0, 256] is a me::Error.
  std::string decode(const std::vector<int32_t>& ids) const override;
  int64_t vocab_size() const override { return kEodId + 1; }
  int32_t eod_id() const override { return kEodId; }
  std::string type() const override { return "byte"; }
  std::string files_sha256() const override { return ""; }
  size_t cut_point(std::string_view text, size_t from) const override;
  void encode_part(std::string_view piece, bool first, bool last,
                   std::vector<int32_t>& out) const override;
};

}  // namespace me
