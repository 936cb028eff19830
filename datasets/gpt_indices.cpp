// GPTDataset index construction, following helpers.cpp build_sample_idx and gpt_dataset.py
// _build_document_sample_shuffle_indices; the order is not bit-identical to numpy's RandomState.
#include "datasets/gpt_indices.h"

#include <fmt/format.h>

#include <limits>
#include <numeric>

#include "engine/core/error.h"

namespace me {

EpochPlan plan_epochs(int64_t tokens_per_epoch, int64_t num_samples, int64_t seq_length) {
  ME_CHECK(tokens_per_epoch > 0 && seq_length > 0, "tokens_per_epoch {} seq_length {}",
           tokens_per_epoch, seq_length);
  constexpr int64_t extra = 1;  // add_extra_token_to_sequence: the last label
  EpochPlan plan;
  if (num_samples > 0) {
    const int64_t needed = num_samples * seq_length + extra;
    plan.num_epochs = std::max<int64_t>(1, (needed + tokens_per_epoch - 1) / tokens_per_epoch);
  }
  plan.num_samples = (plan.num_epochs * tokens_per_epoch - extra) / seq_length;
  if (plan.num_epochs > 1) {
    const int64_t sans_final = ((plan.num_epochs - 1) * tokens_per_epoch - extra) / seq_length;
    const int64_t per_epoch = (tokens_per_epoch - extra) / seq_length;
    const int64_t from_final = num_samples - sans_final;
    ME_CHECK(from_final >= 0 && from_final <= per_epoch + 1, "samples from final epoch {} of {}",
             from_final, per_epoch);
    plan.separate_final_epoch = from_final < static_cast<int64_t>(0.8 * per_epoch);
    plan.num_samples_sans_final_epoch = sans_final;
  }
  return plan;
}

uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  ME_CHECK(n > 0, "uniform_below(0)");
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: values below it would bias the result
  while (true) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

std::vector<int32_t> build_document_index(DocumentRange documents, const EpochPlan& plan,
                                          std::mt19937_64& rng) {
  ME_CHECK(documents.end <= std::numeric_limits<int32_t>::max(), "document id {} beyond int32",
           documents.end);
  const size_t n = static_cast<size_t>(documents.size());
  std::vector<int32_t> index(n * static_cast<size_t>(plan.num_epochs));
  for (size_t e = 0; e < static_cast<size_t>(plan.num_epochs); ++e) {
    std::iota(index.begin() + e * n, index.begin() + (e + 1) * n,
              static_cast<int32_t>(documents.begin));
  }
  std::span<int32_t> all(index);
  if (plan.separate_final_epoch) {
    const size_t sans_final = n * static_cast<size_t>(plan.num_epochs - 1);
    shuffle_in_place(all.subspan(0, sans_final), rng);
    shuffle_in_place(all.subspan(sans_final), rng);
  } else {
    shuffle_in_place(all, rng);
  }
  return index;
}

std::vector<int64_t> build_sample_index(std::span<const int32_t> document_index,
                                        std::span<const int64_t> document_offsets,
                                        int64_t seq_length, int64_t num_samples) {
  constexpr int64_t extra = 1;
  std::vector<int64_t> index(static_cast<size_t>(2 * (num_samples + 1)), 0);
  size_t position = 0;  // in document_index
  int64_t offset = 0;   // token offset inside that document
  for (int64_t sample = 1; sample <= num_samples; ++sample) {
    int64_t remaining = seq_length + extra;
    while (remaining != 0) {
      ME_CHECK(position < document_index.size(), "sample {} runs past the document index", sample);
      const int32_t doc = document_index[position];
      const int64_t doc_remaining = document_offsets[doc + 1] - document_offsets[doc] - offset;
      remaining -= doc_remaining;
      if (remaining <= 0) {
        // The sample ends inside this document; the next one starts on its last token.
        offset += remaining + doc_remaining - extra;
        remaining = 0;
      } else {
        ++position;
        offset = 0;
      }
    }
    index[2 * sample] = static_cast<int64_t>(position);
    index[2 * sample + 1] = offset;
  }
  return index;
}

std::vector<int64_t> build_shuffle_index(const EpochPlan& plan, std::mt19937_64& rng) {
  std::vector<int64_t> index(static_cast<size_t>(plan.num_samples));
  std::iota(index.begin(), index.end(), int64_t{0});
  std::span<int64_t> all(index);
  if (plan.separate_final_epoch) {
    const size_t sans_final = static_cast<size_t>(plan.num_samples_sans_final_epoch);
    shuffle_in_place(all.subspan(0, sans_final), rng);
    shuffle_in_place(all.subspan(sans_final), rng);
  } else {
    shuffle_in_place(all, rng);
  }
  return index;
}

GPTIndices build_gpt_indices(DocumentRange documents, std::span<const int64_t> document_offsets,
                             int64_t seq_length, int64_t num_samples, int64_t seed, Split split) {
  const int64_t tokens = document_offsets[documents.end] - document_offsets[documents.begin];
  const EpochPlan plan = plan_epochs(tokens, num_samples, seq_length);
  const auto seed_bits = static_cast<uint64_t>(seed);
  std::seed_seq seq{static_cast<uint32_t>(seed_bits), static_cast<uint32_t>(seed_bits >> 32),
                    static_cast<uint32_t>(split)};
  std::mt19937_64 rng(seq);
  GPTIndices out;
  out.document_index = build_document_index(documents, plan, rng);
  out.sample_index =
      build_sample_index(out.document_index, document_offsets, seq_length, plan.num_samples);
  out.shuffle_index = build_shuffle_index(plan, rng);
  return out;
}

std::string check_gpt_indices(const GPTIndices& indices, DocumentRange documents,
                              std::span<const int64_t> document_offsets, const EpochPlan& plan) {
  const size_t num_docs = static_cast<size_t>(documents.size());
  if (indices.document_index.size() != num_docs * static_cast<size_t>(plan.num_epochs)) {
    return fmt::format("document index has {} entries, expected {}", indices.document_index.size(),
                       num_docs * plan.num_epochs);
  }
  for (int32_t doc : indices.document_index) {
    if (doc < documents.begin || doc >= documents.end) {
      return fmt::format("document id {} outside [{}, {})", doc, documents.begin, documents.end);
    }
  }
  const auto count = static_cast<size_t>(plan.num_samples);
  if (indices.shuffle_index.size() != count || indices.sample_index.size() != 2 * (count + 1)) {
    return fmt::format("{} samples and {} sample-index rows, expected {} and {}",
                       indices.shuffle_index.size(), indices.sample_index.size() / 2, count,
                       count + 1);
  }
  for (size_t row = 0; row <= count; ++row) {
    const int64_t position = indices.sample_index[2 * row];
    const int64_t offset = indices.sample_index[2 * row + 1];
    const bool first_ok = row > 0 || (position == 0 && offset == 0);
    const bool order_ok = row == 0 || position >= indices.sample_index[2 * row - 2];
    if (!first_ok || !order_ok || position < 0 ||
        position >= static_cast<int64_t>(indices.document_index.size())) {
      return fmt::format("sample index row {} ({}, {}) out of order or range", row, position,
                         offset);
    }
    const int32_t doc = indices.document_index[static_cast<size_t>(position)];
    if (offset < 0 || offset > document_offsets[doc + 1] - document_offsets[doc]) {
      return fmt::format("sample index row {} offset {} outside document {}", row, offset, doc);
    }
  }
  std::vector<bool> seen(count, false);
  for (int64_t s : indices.shuffle_index) {
    if (s < 0 || static_cast<size_t>(s) >= count || seen[static_cast<size_t>(s)]) {
      return "shuffle index is not a permutation";
    }
    seen[static_cast<size_t>(s)] = true;
  }
  return "";
}

}  // namespace me
