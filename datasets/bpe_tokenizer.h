// Byte-level BPE (GPT-2): bytes -> GPT-2's printable byte alphabet -> BPE merges by rank. The base
// of GPT2BPETokenizer (vocab.json + merges.txt) and HuggingFaceTokenizer (tokenizer.json).
//
// encode(): added tokens (e.g. "<|endoftext|>") are found in the raw text first, leftmost-longest,
// and map straight to their ids; the text between them is pre-tokenized (GPT-2's regex,
// datasets/gpt2_pretokenizer.h, or Llama-3's, datasets/tiktoken_pretokenizer.h) and each piece is
// merged. The model's prefix_ids / suffix_ids (a tokenizer.json post-processor's BOS) surround
// each encoding; GPT-2 files add nothing. Input need not be valid UTF-8: every byte has a symbol,
// so an ill-formed byte is a one-byte "other" character and decode(encode(x)) == x holds for any
// byte string, less the prefix and suffix ids (Hugging Face `tokenizers` itself only accepts valid
// UTF-8). decode() concatenates the bytes of each id; an id outside the vocabulary is a me::Error.
// Thread-safe: encode() may run concurrently (the per-word cache is guarded). A long document may
// be encoded in pieces (datasets/piecewise_encoder.h) cut where the pre-tokenizer's rule allows
// (datasets/pretoken_cuts.h) and no added token lies within 4 bytes of the cut.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datasets/piecewise_encoder.h"
#include "datasets/pretoken_cuts.h"
#include "datasets/tokenizer.h"

namespace me {

// The regex that splits text into pieces before merging.
enum class BpePreTokenizer {
  kGpt2,    // GPT-2's (ByteLevel with use_regex)
  kLlama3,  // Llama-3 / cl100k's (Split with that pattern, then ByteLevel without regex)
};

// A BPE model as read from its files, in byte-level alphabet strings (space is "Ġ").
struct BpeModel {
  struct Merge {
    std::string left, right;
    std::string where;  // "merges.txt:12" or "tokenizer.json: model.merges[11]", for errors
  };
  struct AddedToken {
    std::string content;  // raw UTF-8, matched before pre-tokenization
    int32_t id = 0;
  };
  std::string vocab_where;  // the file (and key) holding the vocabulary, for errors
  std::unordered_map<std::string, int32_t> vocab;
  std::vector<Merge> merges;  // in rank order
  std::vector<AddedToken> added_tokens;
  int32_t eod_id = -1;
  std::string files_sha256;       // Tokenizer::files_sha256() of the files it came from
  bool add_prefix_space = false;  // prepend " " to each text segment not starting with one
  bool ignore_merges = false;     // a whole pre-token found in the vocabulary is one token
  BpePreTokenizer pre_tokenizer = BpePreTokenizer::kGpt2;
  std::vector<int32_t> prefix_ids, suffix_ids;  // put around every encoding (e.g. BOS)
};

class BpeTokenizer : public Tokenizer, public PiecewiseEncoder {
 public:
  // Validates the model: every byte's symbol, every merge's parts and result are in the
  // vocabulary, ids are non-negative and unique; otherwise me::Error naming the file and line.
  BpeTokenizer(const BpeModel& model, std::string type);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int64_t vocab_size() const override { return int64_t(id_to_bytes_.size()); }
  int32_t eod_id() const override { return eod_id_; }
  std::string type() const override { return type_; }
  std::string files_sha256() const override { return files_sha256_; }
  size_t cut_point(std::string_view text, size_t from) const override;
  void encode_part(std::string_view piece, bool first, bool last,
                   std::vector<int32_t>& out) const override;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using WordIds = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;
  using WordMap =
      std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>>;

  struct MergeResult {
    int32_t rank;
    int32_t merged_id;
  };
  void build_vocabulary(const BpeModel& model);
  void build_merges(const BpeModel& model);
  // `continued`: the segment goes on from the previous piece, so it gets no prefix space.
  void encode_segment(std::string_view segment, bool continued, std::vector<int32_t>& out) const;
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  std::vector<int32_t> merge_word(std::string_view word) const;
  // The added token starting earliest at or after `from` (longest on ties); npos if none.
  size_t find_added_token(std::string_view text, size_t from,
                          const BpeModel::AddedToken*& hit) const;
  // Whether an added token occurs in text over any byte of [p - 4, p + 4).
  bool added_token_near(std::string_view text, size_t p) const;

  std::string type_;
  std::string files_sha256_;
  int32_t eod_id_ = -1;
  bool add_prefix_space_ = false;
  bool ignore_merges_ = false;
  void (*pretokenize_)(std::string_view, std::vector<std::string_view>&) = nullptr;
  PretokenRule cut_rule_ = PretokenRule::kGpt2;
  size_t longest_added_ = 0;  // bytes
  std::vector<int32_t> prefix_ids_, suffix_ids_;
  std::array<int32_t, 256> byte_ids_{};   // id of each byte's one-symbol token
  std::vector<std::string> id_to_bytes_;  // decoded bytes of each id
  std::vector<bool> id_known_;            // ids with a token (vocabularies may have gaps)
  WordIds whole_word_ids_;                // raw bytes -> id, for ignore_merges
  std::unordered_map<uint64_t, MergeResult> merges_;  // (left id, right id) -> result
  std::vector<BpeModel::AddedToken> added_tokens_;
  std::array<bool, 256> added_first_byte_{};

  // The per-word cache, sharded by hash so that concurrent encode() calls rarely share a lock.
  static constexpr size_t kCacheShards = 64;
  static constexpr size_t kCacheCapacityPerShard = 4096;
  static constexpr size_t kMaxCachedWordBytes = 128;
  struct alignas(64) CacheShard {
    std::shared_mutex mutex;
    WordMap words;
  };
  mutable std::array<CacheShard, kCacheShards> cache_;
};

// GPT-2's reversible map from bytes to printable code points (UTF-8): printable Latin-1 bytes map
// to themselves, the other 68 to U+0100 onwards (space -> "Ġ", newline -> "Ċ").
const std::array<std::string, 256>& byte_level_symbols();

}  // namespace me
