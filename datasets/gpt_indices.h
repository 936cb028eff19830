// The three GPTDataset indices of Megatron's gpt_dataset.py / helpers.cpp (megatron-facts 3.5):
// document index (epochs of shuffled document ids), sample index (where each sample of
// seq_length + 1 tokens starts) and shuffle index. Pure functions, so tests check them by hand.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "datasets/split.h"

namespace me {

struct GPTIndices {
  std::vector<int32_t> document_index;  // (E * n_docs,) document ids, shuffled per epoch block
  std::vector<int64_t> sample_index;    // (count + 1, 2) flat: (position in document_index, offset)
  std::vector<int64_t> shuffle_index;   // (count,) permutation of the sample ids
  int64_t num_samples() const { return static_cast<int64_t>(shuffle_index.size()); }
};

// How many epochs the requested samples need (3.5 steps 1-2). num_samples <= 0 means one epoch.
struct EpochPlan {
  int64_t num_epochs = 1;
  bool separate_final_epoch = false;
  int64_t num_samples_sans_final_epoch = 0;  // only meaningful with separate_final_epoch
  int64_t num_samples = 0;                   // (E * T - 1) / seq_length: samples the index holds
};
EpochPlan plan_epochs(int64_t tokens_per_epoch, int64_t num_samples, int64_t seq_length);

// Uniform integer in [0, n) by rejection from 64-bit outputs: unlike
// std::uniform_int_distribution its sequence is the same on every standard library.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n);
// Fisher-Yates from the end, j drawn in [0, i].
template <typename T>
void shuffle_in_place(std::span<T> values, std::mt19937_64& rng) {
  for (size_t i = values.size(); i > 1; --i) {
    std::swap(values[i - 1], values[uniform_below(rng, i)]);
  }
}

std::vector<int32_t> build_document_index(DocumentRange documents, const EpochPlan& plan,
                                          std::mt19937_64& rng);

// Walks the documents in document_index order cutting samples of seq_length + 1 tokens, each
// starting on the last token of the previous one; `document_offsets` are the store's offsets.
std::vector<int64_t> build_sample_index(std::span<const int32_t> document_index,
                                        std::span<const int64_t> document_offsets,
                                        int64_t seq_length, int64_t num_samples);

std::vector<int64_t> build_shuffle_index(const EpochPlan& plan, std::mt19937_64& rng);

// All three, with one generator seeded from (seed, split) drawing document index then shuffle.
GPTIndices build_gpt_indices(DocumentRange documents, std::span<const int64_t> document_offsets,
                             int64_t seq_length, int64_t num_samples, int64_t seed, Split split);

// "" when `indices` (e.g. loaded from a cache) fit the documents and the plan, else what is wrong.
std::string check_gpt_indices(const GPTIndices& indices, DocumentRange documents,
                              std::span<const int64_t> document_offsets, const EpochPlan& plan);

}  // namespace me
