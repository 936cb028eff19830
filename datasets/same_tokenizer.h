// Token datasets are combined (blended, merged) only when one tokenizer wrote them all.
#pragma once

#include <string>

#include "datasets/token_store.h"

namespace me {

// Throws me::Error at `where` naming both files when `b` was tokenized with another tokenizer
// type or other tokenizer files (sha256) than `a`.
void require_same_tokenizer(const std::string& path_a, const TokenStoreMeta& a,
                            const std::string& path_b, const TokenStoreMeta& b,
                            const std::string& where);

}  // namespace me
