// One self-contained HTML page (no external scripts or styles, so it works offline).
#include "engine/serve/web_page.h"

namespace me::serve {

const char* web_page_html() {
  return R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>megatron-engine</title>
<style>
body { font-family: sans-serif; max-width: 48em; margin: 2em auto; }
textarea { width: 100%; height: 8em; }
#output { white-space: pre-wrap; border: 1px solid #ccc; padding: 0.5em; min-height: 4em; }
</style>
</head>
<body>
<h1>megatron-engine</h1>
<textarea id="prompt">Once upon a time</textarea>
<p>
<label>max tokens <input id="max_tokens" type="number" value="32" min="0"></label>
<label>temperature <input id="temperature" type="number" value="0" min="0" step="0.1"></label>
<button id="generate">Generate</button>
</p>
<div id="output"></div>
<script>
const generate = async () => {
  const out = document.getElementById('output');
  out.textContent = '...';
  const body = {
    prompt: document.getElementById('prompt').value,
    max_tokens: parseInt(document.getElementById('max_tokens').value, 10),
    temperature: parseFloat(document.getElementById('temperature').value),
    echo: true
  };
  try {
    const response = await fetch('/v1/completions', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)
    });
    const answer = await response.json();
    out.textContent = response.ok ? answer.choices[0].text : 'error: ' + answer.message;
    out.dataset.done = response.ok ? 'ok' : 'error';
  } catch (e) {
    out.textContent = 'error: ' + e;
    out.dataset.done = 'error';
  }
};
document.getElementById('generate').onclick = generate;
// /?prompt=TEXT fills the prompt and asks at once (links, and the headless browser test).
const asked = new URLSearchParams(window.location.search).get('prompt');
if (asked !== null) {
  document.getElementById('prompt').value = asked;
  generate();
}
</script>
</body>
</html>
)html";
}

}  // namespace me::serve
