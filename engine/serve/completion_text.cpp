// Stop-string cutting and the streaming hold-back.
#include "engine/serve/completion_text.h"

#include <algorithm>

namespace me::serve {

std::string cut_at_stop(const std::string& text, const std::vector<std::string>& stops) {
  size_t cut = text.size();
  for (const auto& s : stops) cut = std::min(cut, text.find(s));
  return text.substr(0, cut);
}

namespace {
// Bytes at the end of `text` that start a UTF-8 character not yet complete.
size_t incomplete_utf8_tail(const std::string& text) {
  for (size_t back = 1; back <= std::min<size_t>(3, text.size()); ++back) {
    const auto c = static_cast<unsigned char>(text[text.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}
}  // namespace

size_t stable_prefix(const std::string& visible, const std::vector<std::string>& stops) {
  size_t hold = incomplete_utf8_tail(visible);
  for (const auto& s : stops) {
    for (size_t n = std::min(s.size() - 1, visible.size()); n > hold; --n) {
      if (visible.compare(visible.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  return visible.size() - hold;
}

}  // namespace me::serve
