// TikTokenizer (Megatron's name): byte-level BPE over a tiktoken rank file (one "base64(token)
// rank" per line), the Llama-3 / cl100k split pattern, and Megatron's special-token layout: ids
// [0, num_special_tokens) are special ("<unk>", "<s>", "</s>", then "<SPECIAL_i>" fillers) and
// token of rank r has id r + num_special_tokens.
//
// encode(): pre-tokenize (datasets/tiktoken_pretokenizer.h); a piece that is itself a token is
// that token, else tiktoken's byte_pair_merge joins the adjacent pair whose joined bytes have the
// lowest rank (leftmost on ties) until none is a token. Special tokens in the text are plain text,
// as Megatron encodes with special tokens disabled; no BOS/EOS is added. EOD is "</s>". Long
// documents may be encoded in pieces cut by the Llama-3 rule of datasets/pretoken_cuts.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datasets/piecewise_encoder.h"
#include "datasets/tokenizer.h"

namespace me {

class TikTokenizer final : public Tokenizer, public PiecewiseEncoder {
 public:
  static constexpr int32_t kNumSpecialTokens = 1000;  // --tiktoken-num-special-tokens default

  // Reads files.tokenizer_model; a malformed line (bad base64, bad rank, duplicate token or
  // rank) or a missing single-byte token is a me::Error naming FILE:LINE or the file.
  explicit TikTokenizer(const TokenizerFiles& files);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int64_t vocab_size() const override { return kNumSpecialTokens + num_ranks_; }
  int32_t eod_id() const override { return 2; }  // "</s>"
  int32_t bos_id() const { return 1; }           // "<s>"
  std::string type() const override { return "TikTokenizer"; }
  std::string files_sha256() const override { return files_sha256_; }
  size_t cut_point(std::string_view text, size_t from) const override;
  void encode_part(std::string_view piece, bool first, bool last,
                   std::vector<int32_t>& out) const override;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  int32_t rank_of(std::string_view bytes) const;  // -1 when not a token
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ranks_;
  std::vector<std::string> rank_bytes_;  // by rank ("" for a gap)
  std::vector<std::string> specials_;
  int64_t num_ranks_ = 0;
  std::string files_sha256_;
};

}  // namespace me
