// Document sources for GPTDataset: the HDF5 token store, and the mock corpus of megatron-facts
// 3.10 (its lengths come from mt19937_64, not numpy's default_rng, so they differ from Megatron's).
#include "datasets/document_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>

#include "datasets/gpt_indices.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"

namespace me {
namespace {

class TokenStoreSource final : public DocumentSource {
 public:
  explicit TokenStoreSource(std::shared_ptr<TokenStore> store) : store_(std::move(store)) {}
  const std::string& name() const override { return store_->path(); }
  const std::vector<int64_t>& document_offsets() const override {
    return store_->document_offsets();
  }
  int32_t eod_id() const override { return store_->meta().eod_id; }
  void read_tokens(int64_t begin, int64_t end, int32_t* out) const override {
    store_->read_tokens(begin, end, out);
  }
  std::string fingerprint() const override {
    const std::filesystem::path path = std::filesystem::absolute(store_->path());
    const auto mtime = std::filesystem::last_write_time(path).time_since_epoch();
    return fmt::format("{} bytes={} mtime_ns={}", path.string(), std::filesystem::file_size(path),
                       std::chrono::duration_cast<std::chrono::nanoseconds>(mtime).count());
  }

 private:
  std::shared_ptr<TokenStore> store_;
};

class MockSource final : public DocumentSource {
 public:
  static constexpr int64_t kDocuments = 100000;
  static constexpr int64_t kMaxLength = 4096;  // exclusive, as numpy's integers(1, 4096)

  explicit MockSource(int64_t vocab_size) : vocab_size_(vocab_size) {
    std::mt19937_64 rng(0);
    offsets_.reserve(kDocuments + 1);
    offsets_.push_back(0);
    for (int64_t d = 0; d < kDocuments; ++d) {
      offsets_.push_back(offsets_.back() + 1 +
                         static_cast<int64_t>(uniform_below(rng, kMaxLength - 1)));
    }
  }
  const std::string& name() const override { return name_; }
  const std::vector<int64_t>& document_offsets() const override { return offsets_; }
  int32_t eod_id() const override { return static_cast<int32_t>(vocab_size_ - 1); }
  void read_tokens(int64_t begin, int64_t end, int32_t* out) const override {
    auto doc = std::upper_bound(offsets_.begin(), offsets_.end(), begin) - offsets_.begin() - 1;
    for (int64_t t = begin; t < end; ++t) {
      while (t >= offsets_[doc + 1]) ++doc;
      const int64_t position = t - offsets_[doc];
      const bool last = t == offsets_[doc + 1] - 1;
      *out++ = last ? eod_id() : static_cast<int32_t>((position + 1) % vocab_size_);
    }
  }
  std::string fingerprint() const override { return ""; }

 private:
  int64_t vocab_size_;
  std::string name_ = "<mock>";
  std::vector<int64_t> offsets_;
};

}  // namespace

std::string resolve_token_store_path(const std::string& path) {
  if (!std::filesystem::exists(path) && std::filesystem::exists(path + ".h5")) return path + ".h5";
  return path;
}

std::shared_ptr<DocumentSource> open_token_store_source(const std::string& path) {
  return std::make_shared<TokenStoreSource>(TokenStore::open(resolve_token_store_path(path)));
}

std::shared_ptr<DocumentSource> make_mock_source(int64_t vocab_size) {
  ME_CHECK(vocab_size >= 2, "mock vocab_size {}", vocab_size);
  return std::make_shared<MockSource>(vocab_size);
}

}  // namespace me
