// A small synthetic corpus for end-to-end tests: sentences from a tiny grammar, deterministic, so
// a model can learn it quickly and every run sees the same bytes.
#pragma once

#include <cstdint>
#include <string>

namespace me::testing {

// `documents` JSON lines {"text": "..."}, each a few sentences.
inline std::string grammar_corpus_jsonl(int documents) {
  const char* subjects[] = {"the cat", "a dog", "the old man", "my sister", "the bird"};
  const char* verbs[] = {"sees", "likes", "chases", "finds", "paints"};
  const char* objects[] = {"the red ball", "a small house", "the river", "an apple", "the moon"};
  uint64_t state = 12345;
  auto next = [&](int n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int>((state >> 33) % static_cast<uint64_t>(n));
  };
  std::string out;
  for (int d = 0; d < documents; ++d) {
    std::string text;
    const int sentences = 2 + next(3);
    for (int s = 0; s < sentences; ++s) {
      text += std::string(subjects[next(5)]) + " " + verbs[next(5)] + " " + objects[next(5)] + ". ";
    }
    out += "{\"text\": \"" + text + "\"}\n";
  }
  return out;
}

}  // namespace me::testing
