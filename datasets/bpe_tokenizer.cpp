// Byte-level BPE: vocabulary and merge tables built and checked once, then per pre-token merging
// by rank with a priority queue (as Hugging Face `tokenizers` does), behind a per-word cache.
#include "datasets/bpe_tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <queue>

#include "datasets/gpt2_pretokenizer.h"
#include "datasets/tiktoken_pretokenizer.h"
#include "engine/core/error.h"

namespace me {
namespace {

// Code points below U+10000: all that the byte alphabet needs.
void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

// Inverse of byte_level_symbols(): code point -> byte, -1 where a code point is not a symbol.
int byte_of_symbol(uint32_t cp) {
  static const std::vector<int> table = [] {
    std::vector<int> t(0x200, -1);
    for (int b = 0; b < 256; ++b) {
      uint32_t cp;
      decode_utf8(byte_level_symbols()[b], 0, cp);
      t[cp] = b;
    }
    return t;
  }();
  return cp < table.size() ? table[cp] : -1;
}

// The bytes a byte-level token stands for, or nullopt if it uses a code point outside the alphabet.
std::optional<std::string> decode_symbols(std::string_view token) {
  std::string bytes;
  for (size_t pos = 0; pos < token.size();) {
    uint32_t cp;
    pos += decode_utf8(token, pos, cp);
    const int b = byte_of_symbol(cp);
    if (b < 0) return std::nullopt;
    bytes.push_back(char(b));
  }
  return bytes;
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
}

}  // namespace

const std::array<std::string, 256>& byte_level_symbols() {
  static const std::array<std::string, 256> symbols = [] {
    std::array<std::string, 256> s;
    uint32_t next_extra = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      append_utf8(s[b], printable ? uint32_t(b) : next_extra++);
    }
    return s;
  }();
  return symbols;
}

BpeTokenizer::BpeTokenizer(const BpeModel& model, std::string type)
    : type_(std::move(type)),
      files_sha256_(model.files_sha256),
      eod_id_(model.eod_id),
      add_prefix_space_(model.add_prefix_space),
      ignore_merges_(model.ignore_merges),
      pretokenize_(model.pre_tokenizer == BpePreTokenizer::kLlama3 ? tiktoken_pretokenize
                                                                   : gpt2_pretokenize),
      cut_rule_(model.pre_tokenizer == BpePreTokenizer::kLlama3 ? PretokenRule::kLlama3
                                                                : PretokenRule::kGpt2),
      prefix_ids_(model.prefix_ids),
      suffix_ids_(model.suffix_ids) {
  build_vocabulary(model);
  build_merges(model);
  ME_CHECK(eod_id_ >= 0 && eod_id_ < vocab_size(), "eod id {} outside the vocabulary", eod_id_);
  for (const auto* ids : {&prefix_ids_, &suffix_ids_}) {
    for (int32_t id : *ids) {
      if (id < 0 || id >= vocab_size() || !id_known_[id]) {
        throw Error(
            fmt::format("the post-processor adds id {}, which is not in the vocabulary", id),
            model.vocab_where);
      }
    }
  }
}

void BpeTokenizer::build_vocabulary(const BpeModel& model) {
  int32_t max_id = -1;
  for (const auto& [token, id] : model.vocab) {
    if (id < 0)
      throw Error(fmt::format("token '{}' has negative id {}", token, id), model.vocab_where);
    max_id = std::max(max_id, id);
  }
  for (const auto& added : model.added_tokens) max_id = std::max(max_id, added.id);
  id_to_bytes_.assign(size_t(max_id + 1), "");
  id_known_.assign(size_t(max_id + 1), false);
  std::vector<const std::string*> owner(size_t(max_id + 1), nullptr);

  for (const auto& added : model.added_tokens) {
    if (added.id < 0 || added.content.empty()) {
      throw Error(fmt::format("added token '{}' (id {}) must be non-empty with a non-negative id",
                              added.content, added.id));
    }
    id_to_bytes_[added.id] = added.content;
    id_known_[added.id] = true;
    added_tokens_.push_back(added);
    added_first_byte_[uint8_t(added.content[0])] = true;
    longest_added_ = std::max(longest_added_, added.content.size());
  }
  // Longest first, so the first token matching at a position is the longest there.
  std::stable_sort(added_tokens_.begin(), added_tokens_.end(), [](const auto& a, const auto& b) {
    return a.content.size() > b.content.size();
  });

  for (const auto& [token, id] : model.vocab) {
    if (owner[id]) {
      throw Error(fmt::format("id {} is used by both '{}' and '{}'", id, *owner[id], token),
                  model.vocab_where);
    }
    owner[id] = &token;
    auto bytes = decode_symbols(token);
    if (!bytes) {
      if (id_known_[id]) continue;  // an added token's id: decodes to its raw content
      throw Error(fmt::format("token '{}' (id {}) is not in GPT-2's byte-level alphabet; only "
                              "byte-level BPE vocabularies are supported",
                              token, id),
                  model.vocab_where);
    }
    if (ignore_merges_) whole_word_ids_.emplace(*bytes, id);
    if (!id_known_[id]) id_to_bytes_[id] = std::move(*bytes);
    id_known_[id] = true;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = model.vocab.find(byte_level_symbols()[b]);
    if (it == model.vocab.end()) {
      throw Error(fmt::format("the vocabulary lacks '{}', the symbol of byte 0x{:02X}; byte-level "
                              "BPE needs all 256 byte symbols",
                              byte_level_symbols()[b], b),
                  model.vocab_where);
    }
    byte_ids_[b] = it->second;
  }
}

void BpeTokenizer::build_merges(const BpeModel& model) {
  merges_.reserve(model.merges.size());
  for (size_t rank = 0; rank < model.merges.size(); ++rank) {
    const auto& merge = model.merges[rank];
    const auto id_of = [&](const std::string& token) {
      auto it = model.vocab.find(token);
      if (it == model.vocab.end()) {
        throw Error(fmt::format("merge '{} {}' uses '{}', which is not in the vocabulary ({})",
                                merge.left, merge.right, token, model.vocab_where),
                    merge.where);
      }
      return it->second;
    };
    const int32_t left = id_of(merge.left), right = id_of(merge.right);
    const int32_t merged = id_of(merge.left + merge.right);
    merges_.insert_or_assign(pair_key(left, right), MergeResult{int32_t(rank), merged});
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1 + prefix_ids_.size() + suffix_ids_.size());
  encode_part(text, true, true, out);
  return out;
}

void BpeTokenizer::encode_part(std::string_view text, bool first, bool last,
                               std::vector<int32_t>& out) const {
  if (first) out.insert(out.end(), prefix_ids_.begin(), prefix_ids_.end());
  for (size_t pos = 0; pos < text.size();) {
    const bool continued = !first && pos == 0;
    const BpeModel::AddedToken* hit = nullptr;
    const size_t at = find_added_token(text, pos, hit);
    if (at == std::string_view::npos) {
      encode_segment(text.substr(pos), continued, out);
      break;
    }
    if (at > pos) encode_segment(text.substr(pos, at - pos), continued, out);
    out.push_back(hit->id);
    pos = at + hit->content.size();
  }
  if (last) out.insert(out.end(), suffix_ids_.begin(), suffix_ids_.end());
}

size_t BpeTokenizer::cut_point(std::string_view text, size_t from) const {
  // The added-token check around a cut reads up to longest_added_ + 3 bytes past it.
  const size_t margin = longest_added_ + 4;
  if (text.size() <= margin) return 0;
  size_t p = text.size() - margin;
  while ((p = last_pretoken_cut(text, from, p, cut_rule_)) != 0 && added_token_near(text, p)) {
  }
  return p;
}

bool BpeTokenizer::added_token_near(std::string_view text, size_t p) const {
  for (const auto& token : added_tokens_) {
    const size_t len = token.content.size();
    const size_t begin = p + 1 > 4 + len ? p + 1 - 4 - len : 0;
    for (size_t i = begin; i < p + 4 && i + len <= text.size(); ++i) {
      if (text.compare(i, len, token.content) == 0) return true;
    }
  }
  return false;
}

size_t BpeTokenizer::find_added_token(std::string_view text, size_t from,
                                      const BpeModel::AddedToken*& hit) const {
  if (added_tokens_.empty()) return std::string_view::npos;
  for (size_t i = from; i < text.size(); ++i) {
    if (!added_first_byte_[uint8_t(text[i])]) continue;
    for (const auto& token : added_tokens_) {
      if (text.compare(i, token.content.size(), token.content) == 0) {
        hit = &token;
        return i;
      }
    }
  }
  return std::string_view::npos;
}

void BpeTokenizer::encode_segment(std::string_view segment, bool continued,
                                  std::vector<int32_t>& out) const {
  std::string prefixed;
  if (add_prefix_space_ && !continued && segment.front() != ' ') {
    prefixed.reserve(segment.size() + 1);
    prefixed.push_back(' ');
    prefixed.append(segment);
    segment = prefixed;
  }
  std::vector<std::string_view> words;
  pretokenize_(segment, words);
  for (std::string_view word : words) encode_word(word, out);
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() == 1) {
    out.push_back(byte_ids_[uint8_t(word[0])]);
    return;
  }
  if (ignore_merges_) {
    if (auto it = whole_word_ids_.find(word); it != whole_word_ids_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (word.size() > kMaxCachedWordBytes) {
    const std::vector<int32_t> ids = merge_word(word);
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  CacheShard& shard = cache_[StringHash{}(word) % kCacheShards];
  {
    std::shared_lock lock(shard.mutex);
    if (auto it = shard.words.find(word); it != shard.words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids = merge_word(word);
  out.insert(out.end(), ids.begin(), ids.end());
  std::unique_lock lock(shard.mutex);
  if (shard.words.size() < kCacheCapacityPerShard) shard.words.emplace(word, std::move(ids));
}

std::vector<int32_t> BpeTokenizer::merge_word(std::string_view word) const {
  struct Symbol {
    int32_t id, prev, next;
  };
  struct Candidate {
    int32_t rank, pos, left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  const int32_t n = int32_t(word.size());
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i)
    symbols[i] = {byte_ids_[uint8_t(word[i])], i - 1, i + 1 < n ? i + 1 : -1};

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  const auto consider = [&](int32_t pos) {
    if (pos < 0 || symbols[pos].next < 0) return;
    const int32_t left = symbols[pos].id, right = symbols[symbols[pos].next].id;
    if (auto it = merges_.find(pair_key(left, right)); it != merges_.end()) {
      queue.push({it->second.rank, pos, left, right});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  // A merge's result only forms pairs of higher rank, so taking the lowest (rank, position)
  // first gives GPT-2's "merge every occurrence of the best pair, left to right".
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.id != top.left_id || left.next < 0 || symbols[left.next].id != top.right_id) continue;
    const int32_t right_pos = left.next;
    left.id = merges_.at(pair_key(top.left_id, top.right_id)).merged_id;
    left.next = symbols[right_pos].next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    symbols[right_pos].id = -1;
    consider(left.prev);
    consider(top.pos);
  }
  std::vector<int32_t> ids;
  for (int32_t pos = 0; pos >= 0; pos = symbols[pos].next) ids.push_back(symbols[pos].id);
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string text;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size() || !id_known_[id]) {
      throw Error(fmt::format("token id {} is not in the {} vocabulary (size {})", id, type_,
                              vocab_size()));
    }
    text += id_to_bytes_[id];
  }
  return text;
}

}  // namespace me
