// "Did you mean": the candidate nearest to a misspelt word by edit distance, for recipe keys,
// registered names and CLI flags alike.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace me {

size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate, if close enough to be a plausible typo: edit distance at most a third of
// the word's length, clamped to [1, 3].
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

}  // namespace me
