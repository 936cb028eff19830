// merge_token_stores: checks the inputs share a tokenizer, then streams their documents into one
// TokenStoreWriter block by block.
#include "datasets/merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "datasets/same_tokenizer.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr int64_t kBlockTokens = int64_t{1} << 20;

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::exists(a, ec) && std::filesystem::exists(b, ec) &&
         std::filesystem::equivalent(a, b, ec);
}

// Copies every document of `store` into `writer`, a block of tokens at a time.
void copy_documents(const TokenStore& store, TokenStoreWriter& writer,
                    std::vector<int32_t>& block) {
  const auto& offsets = store.document_offsets();
  for (int64_t d = 0; d < store.num_documents(); ++d) {
    for (int64_t begin = offsets[d]; begin < offsets[d + 1]; begin += kBlockTokens) {
      const int64_t end = std::min(offsets[d + 1], begin + kBlockTokens);
      store.read_tokens(begin, end, block.data());
      writer.append_tokens({block.data(), static_cast<size_t>(end - begin)});
    }
    writer.end_document();
  }
}

}  // namespace

MergeSummary merge_token_stores(const std::vector<std::string>& inputs, const std::string& output) {
  if (inputs.empty()) throw Error("merge needs at least one input token dataset", output);
  std::vector<std::shared_ptr<TokenStore>> stores;
  for (const auto& path : inputs) {
    if (same_file(path, output)) {
      throw Error(fmt::format("the output {} is also an input; write to a new file", output), path);
    }
    stores.push_back(TokenStore::open(path));
    if (stores.size() > 1) {
      require_same_tokenizer(inputs[0], stores[0]->meta(), path, stores.back()->meta(), path);
    }
  }
  TokenStoreMeta meta = stores[0]->meta();
  meta.sources.clear();
  for (const auto& store : stores) {
    const auto& sources = store->meta().sources;
    meta.sources.insert(meta.sources.end(), sources.begin(), sources.end());
  }
  TokenStoreWriter writer(output, meta);
  std::vector<int32_t> block(static_cast<size_t>(kBlockTokens));
  for (const auto& store : stores) copy_documents(*store, writer, block);
  writer.finish();
  return {writer.num_documents(), writer.num_tokens()};
}

}  // namespace me
