// SentencePiece `.model` tokenizers through Debian's libsentencepiece-dev, as Megatron's three
// classes over it (BOS/EOS/PAD ids come from the model file):
//   GPTSentencePieceTokenizer  the model's ids; EOD = the model's eos.
//   Llama2Tokenizer            BOS first (Megatron's tokenize(bos=True)); EOD = eos.
//   SentencePieceTokenizer     Megatron's _SentencePieceTokenizer (T5 style): <CLS> <SEP> <EOD>
//                              <MASK> and the pad/bos/eos pieces are special; absent ones get ids
//                              after the model's pieces; in the text each special token found
//                              (earliest first) is its id and the text between is encoded by the
//                              model; EOD = <EOD>.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "datasets/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace me {

class SentencePieceBase : public Tokenizer {
 public:
  ~SentencePieceBase() override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string files_sha256() const override { return files_sha256_; }
  int32_t bos_id() const;
  int32_t eos_id() const;

 protected:
  // Loads files.tokenizer_model for `type`; a missing or unparsable model is a me::Error naming it.
  SentencePieceBase(const TokenizerFiles& files, const std::string& type);
  std::vector<int32_t> encode_plain(std::string_view text) const;
  int64_t piece_size() const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_;
  std::string files_sha256_;
  std::vector<std::pair<std::string, int32_t>> specials_;  // decoded by name in decode()
};

class GPTSentencePieceTokenizer final : public SentencePieceBase {
 public:
  explicit GPTSentencePieceTokenizer(const TokenizerFiles& files);
  std::vector<int32_t> encode(std::string_view text) const override { return encode_plain(text); }
  int64_t vocab_size() const override { return piece_size(); }
  int32_t eod_id() const override { return eos_id(); }
  std::string type() const override { return "GPTSentencePieceTokenizer"; }
};

class Llama2Tokenizer final : public SentencePieceBase {
 public:
  explicit Llama2Tokenizer(const TokenizerFiles& files);
  std::vector<int32_t> encode(std::string_view text) const override;
  int64_t vocab_size() const override { return piece_size(); }
  int32_t eod_id() const override { return eos_id(); }
  std::string type() const override { return "Llama2Tokenizer"; }
};

class SentencePieceTokenizer final : public SentencePieceBase {
 public:
  explicit SentencePieceTokenizer(const TokenizerFiles& files);
  std::vector<int32_t> encode(std::string_view text) const override;
  int64_t vocab_size() const override { return vocab_size_; }
  int32_t eod_id() const override { return eod_id_; }
  std::string type() const override { return "SentencePieceTokenizer"; }

 private:
  int64_t vocab_size_ = 0;
  int32_t eod_id_ = -1;
};

}  // namespace me
