// The page `GET /` serves: a prompt box that asks POST /v1/completions and shows the answer.
#pragma once

namespace me::serve {

const char* web_page_html();

}  // namespace me::serve
