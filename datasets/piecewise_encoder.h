// Tokenizing one document in pieces, so that a huge document needs bounded memory and its pieces
// can be tokenized in parallel. A tokenizer implements this when it can say where its output
// provably does not depend on the cut (datasets/pretoken_cuts.h); SentencePiece does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace me {

class PiecewiseEncoder {
 public:
  virtual ~PiecewiseEncoder() = default;
  // The largest p with from <= p < text.size() and p > 0 such that, whatever follows text,
  // encoding the document whole equals encoding its part before p and its part from p as pieces;
  // 0 if there is none (yet: more text may bring one).
  virtual size_t cut_point(std::string_view text, size_t from) const = 0;
  // Appends the ids of one piece; `first` / `last` say whether it starts / ends the document
  // (BOS-like prefix ids come with the first piece, suffix ids with the last). Concatenating the
  // pieces' ids gives encode() of the whole document.
  virtual void encode_part(std::string_view piece, bool first, bool last,
                           std::vector<int32_t>& out) const = 0;
};

}  // namespace me
