// TikTokenizer: the rank-file reader (base64 per line) and tiktoken's byte_pair_merge.
#include "datasets/tiktoken_tokenizer.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>

#include "datasets/pretoken_cuts.h"
#include "datasets/tiktoken_pretokenizer.h"
#include "datasets/tokenizer_files.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr const char* kType = "TikTokenizer";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with '=' padding; false on any other character or a bad length.
bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.empty() || text.size() % 4 != 0) return false;
  uint32_t bits = 0;
  int count = 0;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=') {
      if (i + 2 < text.size()) return false;
      ++padding;
      continue;
    }
    const int v = base64_value(text[i]);
    if (v < 0 || padding > 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xFF));
      out.push_back(static_cast<char>((bits >> 8) & 0xFF));
      out.push_back(static_cast<char>(bits & 0xFF));
      bits = 0;
      count = 0;
    }
  }
  if (padding == 1 && count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xFF));
    out.push_back(static_cast<char>((bits >> 2) & 0xFF));
  } else if (padding == 2 && count == 2) {
    out.push_back(static_cast<char>((bits >> 4) & 0xFF));
  } else if (padding != 0 || count != 0) {
    return false;
  }
  return true;
}

}  // namespace

TikTokenizer::TikTokenizer(const TokenizerFiles& files) {
  const std::string& path =
      require_tokenizer_file(files.tokenizer_model, kType, "--tokenizer-model");
  const std::string text = read_tokenizer_file(path, "tiktoken rank file");
  files_sha256_ = tokenizer_contents_sha256({text});
  int64_t line_number = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = fmt::format("{}:{}", path, line_number);
    const size_t space = line.find(' ');
    std::string bytes;
    if (space == std::string_view::npos || !base64_decode(line.substr(0, space), bytes)) {
      throw Error("expected 'BASE64TOKEN RANK' with standard base64", where);
    }
    const std::string_view rank_text = line.substr(space + 1);
    int64_t rank = -1;
    const auto [ptr, ec] =
        std::from_chars(rank_text.data(), rank_text.data() + rank_text.size(), rank);
    if (ec != std::errc() || ptr != rank_text.data() + rank_text.size() || rank < 0 ||
        rank > std::numeric_limits<int32_t>::max() - kNumSpecialTokens) {
      throw Error(fmt::format("rank '{}' is not a non-negative integer id", rank_text), where);
    }
    if (!ranks_.emplace(bytes, static_cast<int32_t>(rank)).second) {
      throw Error("duplicate token", where);
    }
    if (static_cast<size_t>(rank) >= rank_bytes_.size()) rank_bytes_.resize(rank + 1);
    if (!rank_bytes_[rank].empty()) throw Error(fmt::format("duplicate rank {}", rank), where);
    rank_bytes_[rank] = bytes;
  }
  num_ranks_ = static_cast<int64_t>(rank_bytes_.size());
  for (int b = 0; b < 256; ++b) {
    if (rank_of(std::string(1, static_cast<char>(b))) < 0) {
      throw Error(fmt::format("no token for the single byte 0x{:02X}; every byte needs one", b),
                  path);
    }
  }
  specials_ = {"<unk>", "<s>", "</s>"};
  for (int i = 3; i < kNumSpecialTokens; ++i) specials_.push_back(fmt::format("<SPECIAL_{}>", i));
}

int32_t TikTokenizer::rank_of(std::string_view bytes) const {
  auto it = ranks_.find(bytes);
  return it == ranks_.end() ? -1 : it->second;
}

void TikTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (const int32_t whole = rank_of(piece); whole >= 0) {
    out.push_back(whole + kNumSpecialTokens);
    return;
  }
  constexpr int32_t kNone = std::numeric_limits<int32_t>::max();
  // parts[i] = (start byte of part i, rank of parts i and i + 1 joined); two sentinels at the end.
  std::vector<std::pair<size_t, int32_t>> parts;
  auto joined_rank = [&](size_t i) {
    if (i + 2 >= parts.size()) return kNone;
    const int32_t r = rank_of(piece.substr(parts[i].first, parts[i + 2].first - parts[i].first));
    return r < 0 ? kNone : r;
  };
  for (size_t i = 0; i <= piece.size(); ++i) parts.emplace_back(i, kNone);
  for (size_t i = 0; i + 2 < parts.size(); ++i) parts[i].second = joined_rank(i);
  while (true) {
    size_t best = SIZE_MAX;
    int32_t best_rank = kNone;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (parts[i].second < best_rank) {
        best_rank = parts[i].second;
        best = i;
      }
    }
    if (best == SIZE_MAX) break;
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    parts[best].second = joined_rank(best);
    if (best > 0) parts[best - 1].second = joined_rank(best - 1);
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const int32_t r = rank_of(piece.substr(parts[i].first, parts[i + 1].first - parts[i].first));
    ME_CHECK(r >= 0, "byte_pair_merge left a part with no rank");
    out.push_back(r + kNumSpecialTokens);
  }
}

std::vector<int32_t> TikTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  encode_part(text, true, true, out);
  return out;
}

void TikTokenizer::encode_part(std::string_view text, bool, bool, std::vector<int32_t>& out) const {
  std::vector<std::string_view> pieces;
  tiktoken_pretokenize(text, pieces);
  for (std::string_view piece : pieces) encode_piece(piece, out);
}

size_t TikTokenizer::cut_point(std::string_view text, size_t from) const {
  return last_pretoken_cut(text, from, text.size(), PretokenRule::kLlama3);
}

std::string TikTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id >= 0 && id < kNumSpecialTokens) {
      out += specials_[static_cast<size_t>(id)];
      continue;
    }
    const int64_t rank = int64_t{id} - kNumSpecialTokens;
    if (rank < 0 || rank >= num_ranks_ || rank_bytes_[static_cast<size_t>(rank)].empty()) {
      throw Error(fmt::format("token id {} is outside the vocabulary [0, {})", id, vocab_size()));
    }
    out += rank_bytes_[static_cast<size_t>(rank)];
  }
  return out;
}

}  // namespace me

ME_REGISTER(me::TokenizerRegistry, "TikTokenizer", me::TikTokenizer);
