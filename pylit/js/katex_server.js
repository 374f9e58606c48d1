// Renders TeX with KaTeX for pylit, as one long-lived process.
//
// Protocol: each line on stdin is a JSON array of [tex, displayMode] pairs; the answer is one
// line on stdout, a JSON array of the same length whose items are
// {"html": "..."} or {"error": "..."}.
'use strict';
const readline = require('readline');
const katex = require('katex');

function render(tex, display) {
  try {
    const html = katex.renderToString(tex, {
      displayMode: display,
      output: 'htmlAndMathml',
      throwOnError: true,
      strict: 'ignore',
      trust: false,
    });
    return { html };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let batch;
  try {
    batch = JSON.parse(line);
  } catch (e) {
    process.stdout.write(JSON.stringify({ fatal: 'bad request: ' + e.message }) + '\n');
    return;
  }
  const out = batch.map(([tex, display]) => render(tex, !!display));
  process.stdout.write(JSON.stringify(out) + '\n');
});
