// Benchmark of GPTDataset index building, run by scripts/bench_index: synthesises a token store
// with log-normal document lengths, then times a cold build of the three splits' indices and their
// reuse from the cache, with the build's parts (document, sample, shuffle index) timed alone.
//   bench_gpt_indices DIR [TOKENS] [SEQ_LENGTH] [EPOCHS]
#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "datasets/gpt_dataset.h"
#include "datasets/split.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "engine/recipe/recipe.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Web-text-like document lengths: log-normal with median e^6 = 403 and mean about 830 tokens,
// at least 2 tokens (one token and the EOD).
void synthesise_store(const std::string& path, int64_t tokens) {
  me::TokenStoreMeta meta;
  meta.tokenizer_type = "byte";
  meta.vocab_size = 257;
  meta.eod_id = 256;
  me::TokenStoreWriter writer(path, meta);
  std::mt19937_64 rng(2024);
  std::lognormal_distribution<double> length(6.0, 1.2);
  std::vector<int32_t> document;
  for (int64_t written = 0; written < tokens;) {
    const int64_t n = std::min<int64_t>(std::max<int64_t>(2, std::llround(length(rng))),
                                        std::max<int64_t>(2, tokens - written));
    document.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i + 1 < n; ++i) {
      document[static_cast<size_t>(i)] = static_cast<int32_t>((written + i) % 256);
    }
    document.back() = meta.eod_id;
    writer.add_document(document);
    written += n;
  }
  writer.finish();
}

me::Recipe recipe_for(const std::string& store, const std::string& cache, int64_t seq_length) {
  me::Recipe recipe{};
  recipe.model.seq_length = seq_length;
  recipe.data.data_path = {store};
  recipe.data.split = "969,30,1";
  recipe.data.data_cache_path = cache;
  recipe.train.seed = 1234;
  return recipe;
}

// Builds or loads all three splits (valid and test: one epoch); returns the seconds taken.
double open_splits(const me::Recipe& recipe, int64_t train_samples, const char* label) {
  const auto start = Clock::now();
  for (me::Split split : {me::Split::kTrain, me::Split::kValid, me::Split::kTest}) {
    const auto split_start = Clock::now();
    const int64_t wanted = split == me::Split::kTrain ? train_samples : 0;
    me::GPTDataset dataset(me::DatasetRequest{recipe, split, wanted});
    fmt::print("  {} {:5}: {:>10} samples in {:.3f} s{}\n", label, me::split_name(split),
               dataset.size(), seconds_since(split_start),
               dataset.cache_path().empty() ? " (not cached)" : "");
  }
  return seconds_since(start);
}

// The train split's build without the dataset around it, part by part.
void time_parts(const std::string& store_path, int64_t seq_length, int64_t train_samples) {
  const auto store = me::TokenStore::open(store_path);
  const auto& offsets = store->document_offsets();
  const me::DocumentRange documents =
      me::split_document_range("969,30,1", me::Split::kTrain, store->num_documents());
  const int64_t tokens = offsets[documents.end] - offsets[documents.begin];
  const me::EpochPlan plan = me::plan_epochs(tokens, train_samples, seq_length);
  std::mt19937_64 rng(1234);
  auto start = Clock::now();
  const auto document_index = me::build_document_index(documents, plan, rng);
  const double document_s = seconds_since(start);
  start = Clock::now();
  const auto sample_index =
      me::build_sample_index(document_index, offsets, seq_length, plan.num_samples);
  const double sample_s = seconds_since(start);
  start = Clock::now();
  const auto shuffle_index = me::build_shuffle_index(plan, rng);
  fmt::print(
      "  parts (train): document index {} entries {:.3f} s, sample index {:.3f} s, "
      "shuffle index {:.3f} s\n",
      document_index.size(), document_s, sample_s, seconds_since(start));
}

int run(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: bench_gpt_indices DIR [TOKENS] [SEQ_LENGTH] [EPOCHS]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const int64_t tokens = argc > 2 ? std::stoll(argv[2]) : 1'000'000'000;
  const int64_t seq_length = argc > 3 ? std::stoll(argv[3]) : 4096;
  const int64_t epochs = argc > 4 ? std::stoll(argv[4]) : 1;
  const std::string store = (dir / fmt::format("corpus_{}.h5", tokens)).string();
  const std::string cache = (dir / "cache").string();
  if (!std::filesystem::exists(store)) {
    const auto start = Clock::now();
    synthesise_store(store, tokens);
    fmt::print("synthesised {} ({:.1f} GB) in {:.1f} s\n", store,
               double(std::filesystem::file_size(store)) / 1e9, seconds_since(start));
  }
  const auto opened = me::TokenStore::open(store);
  fmt::print("store: {} tokens, {} documents (mean {:.0f} tokens), seq_length {}, {} epoch(s)\n",
             opened->num_tokens(), opened->num_documents(),
             double(opened->num_tokens()) / double(opened->num_documents()), seq_length, epochs);
  // Exactly `epochs` passes over the train split's tokens.
  const auto& offsets = opened->document_offsets();
  const me::DocumentRange train =
      me::split_document_range("969,30,1", me::Split::kTrain, opened->num_documents());
  const int64_t train_tokens = offsets[train.end] - offsets[train.begin];
  const int64_t train_samples = (epochs * train_tokens - 1) / seq_length;
  std::filesystem::remove_all(cache);
  const me::Recipe recipe = recipe_for(store, cache, seq_length);
  const double cold = open_splits(recipe, train_samples, "cold");
  const double warm = open_splits(recipe, train_samples, "cached");
  time_parts(store, seq_length, train_samples);
  fmt::print("cold build (3 splits, cache written): {:.3f} s\n", cold);
  fmt::print("cached reuse (3 splits): {:.3f} s\n", warm);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  try {
    return run(argc, argv);
  } catch (const me::Error& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 1;
  }
}
