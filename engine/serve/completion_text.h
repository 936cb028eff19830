// The text a completion shows: decoded tokens cut at the first stop string, and, while streaming,
// the part that is safe to send (no partial UTF-8 character, nothing that may still become a stop
// string), so streamed deltas always add up to the final text.
#pragma once

#include <string>
#include <vector>

namespace me::serve {

// `text` cut before the first occurrence of any stop string.
std::string cut_at_stop(const std::string& text, const std::vector<std::string>& stops);

// How many leading bytes of `visible` (already cut) may be sent before generation ends: holds back
// an incomplete UTF-8 sequence at the end and any suffix that is a prefix of a stop string.
size_t stable_prefix(const std::string& visible, const std::vector<std::string>& stops);

}  // namespace me::serve
