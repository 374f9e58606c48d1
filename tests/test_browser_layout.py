"""
Pages that read well at every width (issue 17), measured in Debian's headless Chromium.

The real site (`labml_nn/`, English, with the Chinese and Japanese builds from a temporary copy of
`translate_cache/`) is built once for this module, indexed with Pagefind and served on
127.0.0.1. Every English page is then loaded at 1400 px and at 390 px and measured:

* 1400 px: no stretch of more than one screen (900 px) of the code column is empty beside the
  notes; no code line is hidden behind a horizontal scroll (long lines wrap with a hanging
  indent); code and commands in the notes wrap too;
* 390 px: the header is at most 120 px high; every display formula is fully visible or fades out
  at the edge that hides more of it; code keeps at least 44 characters a row;
* dark mode: inline code in the notes has no operator/error colouring; the code column is one
  shade, cells with code and empty ones alike;
* code is set in the bundled monospace font in every language; the Sophia page's first visit
  stays within 450 KB;
* formulas: no run of three or more italic single letters (an operator name or a code name set
  as a product of variables);
* every page links to its source, and the link works; search excerpts start at a word and show
  formulas as TeX, not as flattened symbols; the live-reload script connects only when the
  preview server served the page.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / 'labml_nn'
CHROMIUM = Path('/usr/bin/chromium')
FLAGS = ['--remove_empty_sections', '--title_md', '--languages', 'en,zh,ja', '--jobs', '2']
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']
SOPHIA = 'optimizers/sophia.html'
WIDE, NARROW = 1400, 390
SCREEN = 900
MAX_HEADER = 120
MIN_CODE_CHARS = 44
MAX_FIRST_VISIT = 450 * 1000
# Formulas allowed to hold three italic letters in a row (a genuine product of variables)
ITALIC_RUNS_ALLOWED: set[str] = set()

sys.path.insert(0, str(REPO))


# ## Without a browser

def test_source_link_is_the_repository_or_the_copy_beside_the_page():
    from pylit.render import source_link
    assert source_link('https://example.org/r/blob/main/labml_nn/', 'optimizers/sophia.py') == \
        'https://example.org/r/blob/main/labml_nn/optimizers/sophia.py'
    assert source_link(None, 'optimizers/sophia.py') == 'sophia.py'
    assert source_link('', 'optimizers/__init__.py') == '__init__.py'


def test_inline_code_is_never_coloured_as_an_error_or_an_operator():
    from pylit.notes import highlight_inline_code
    for code in ('--device', '--resume', 'tests/test_optimizers.py', 'step(bs=...)', '$x', '`', 'a -> b'):
        html = highlight_inline_code(code)
        assert set(re.findall(r'class="([^"]+)"', html)) <= {'highlight', 'n'}, (code, html)
    # Names stay marked, so the notes' `state` is the code's `state`
    assert highlight_inline_code('state') == '<code class="highlight"><span class="n">state</span></code>'
    assert highlight_inline_code('len(ValueError)') == \
        '<code class="highlight"><span class="n">len</span>(<span class="n">ValueError</span>)</code>'
    assert highlight_inline_code('a < b') == '<code class="highlight"><span class="n">a</span> &lt; <span class="n">b</span></code>'


def test_code_lines_carry_their_indentation_for_the_hanging_indent():
    from pylit.render import _indent_style
    assert _indent_style('        x = 1') == ' style="--i:8"'
    assert _indent_style('x = 1') == ''
    assert _indent_style('    ') == ''


# ## In the browser

needs_browser = pytest.mark.skipif(not CHROMIUM.exists(), reason='/usr/bin/chromium is not installed (make browser)')


def english_pages() -> list[str]:
    from pylit.discover import discover
    entries = [SOURCE / n for n in sorted(os.listdir(SOURCE)) if not n.startswith('.')]
    sources, _ = discover([str(e) for e in entries], SOURCE)
    return [s.out for s in sources]


def _pylit(args: list[str]):
    entries = sorted(n for n in os.listdir(SOURCE) if not n.startswith('.'))
    r = subprocess.run([sys.executable, '-m', 'pylit', '-q', *args, *entries], cwd=SOURCE,
                       capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert r.returncode == 0, f'pylit {" ".join(args)} failed:\n{r.stdout}{r.stderr}'


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """The real site, in English, Chinese and Japanese, indexed and served on 127.0.0.1."""
    top = tmp_path_factory.mktemp('layout-site')
    docs = top / 'docs'
    cache = top / 'translate_cache'
    shutil.copytree(REPO / 'translate_cache', cache)
    _pylit([*FLAGS, '-d', str(docs)])
    for lang in ('zh', 'ja'):
        _pylit([*FLAGS, '--translate', lang, '--translate_cache', str(cache), '-d', str(docs / lang)])
    r = subprocess.run([sys.executable, str(REPO / 'utils' / 'search.py'), '--site', str(docs)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(docs)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {'url': f'http://127.0.0.1:{server.server_address[1]}/', 'docs': docs}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='module')
def chromium(shared_chromium):
    return shared_chromium


def open_page(context, url: str):
    page = context.new_page()
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
    response = page.goto(url, wait_until='load')
    assert response is not None and response.ok, url
    page.evaluate('document.fonts.ready.then(() => true)')
    # Two frames more, so that what the page's script does on a change of size has run
    page.evaluate('new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))')
    return page, errors


# What a page looks like at one width, measured in one pass (see the module notes)
MEASURE = r'''() => {
  const Y = window.scrollY;
  const abs = r => [r.top + Y, r.bottom + Y];
  const out = {};
  // The code column: the stretches of grey cells beside the notes with no code in them
  const cells = [], code = [];
  for (const s of document.querySelectorAll('main .section')) {
    const c = s.querySelector(':scope > .code'), d = s.querySelector(':scope > .docs');
    if (!c || !d) continue;
    const cr = c.getBoundingClientRect(), dr = d.getBoundingClientRect();
    if (cr.height === 0 || cr.left < dr.right - 1) continue;        // stacked: no column
    cells.push(abs(cr));
    const pre = c.querySelector('pre');
    if (pre && pre.textContent.trim()) code.push(abs(pre.getBoundingClientRect()));
  }
  cells.sort((a, b) => a[0] - b[0]);
  let run = 0, longest = 0, longestAt = null, prevEnd = null;
  for (const [t, b] of cells) {
    // the parts of this cell that hold no code
    let y = t;
    const inside = code.filter(([ct, cb]) => cb > t && ct < b).sort((a, b) => a[0] - b[0]);
    const pieces = [];
    for (const [ct, cb] of inside) { if (ct > y) pieces.push([y, ct]); y = Math.max(y, cb); }
    if (y < b) pieces.push([y, b]);
    for (const [pt, pb] of pieces) {
      run = (prevEnd !== null && Math.abs(pt - prevEnd) <= 1) ? run + (pb - pt) : pb - pt;
      prevEnd = pb;
      if (run > longest) { longest = run; longestAt = Math.round(pb - run); }
    }
    if (!pieces.length || pieces[pieces.length - 1][1] < b - 1) { run = 0; prevEnd = null; }
  }
  out.emptyCodeRun = Math.round(longest);
  out.emptyCodeRunAt = longestAt;
  const firstPre = [...document.querySelectorAll('main .code pre')].find(p => p.textContent.trim());
  out.firstCode = firstPre ? Math.round(firstPre.getBoundingClientRect().top + Y) : null;
  // Code lines whose text goes past the visible code block
  out.hiddenLines = [];
  out.scrollingBlocks = 0;
  for (const pre of document.querySelectorAll('main .code pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1) out.scrollingBlocks++;
    const right = pre.getBoundingClientRect().right;
    for (const line of pre.querySelectorAll('.line')) {
      // the right edge of its words (a run of spaces may hang past the edge, hiding nothing)
      let far = -Infinity;
      const walk = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      for (let node = walk.nextNode(); node; node = walk.nextNode()) {
        for (const m of node.data.matchAll(/\S+/g)) {
          const r = document.createRange(); r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
          for (const x of r.getClientRects()) far = Math.max(far, x.right);
        }
      }
      if (far > right + 1) out.hiddenLines.push(line.textContent.trim().slice(0, 60));
    }
  }
  // Line numbers: each on one row, whole
  out.brokenLineNumbers = [...document.querySelectorAll('main .code .ln')].filter(ln =>
    ln.getBoundingClientRect().height > 1.5 * parseFloat(getComputedStyle(ln).lineHeight) ||
    ln.scrollWidth > ln.clientWidth + 1).map(ln => ln.dataset.ln);
  // Code and commands in the notes
  out.notesCodeHidden = [];
  for (const el of document.querySelectorAll('main .docs pre, main .docs code')) {
    const docs = el.closest('.docs').getBoundingClientRect();
    const r = el.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 || r.right > docs.right + 1) out.notesCodeHidden.push(el.textContent.slice(0, 60));
  }
  // How many characters a row of code holds (an unindented line, beside the line numbers)
  out.codeChars = null;
  if (firstPre) {
    const probe = document.createElement('span');
    probe.className = 'line';
    probe.innerHTML = '<span class="ln" data-ln="999"></span>';
    const text = document.createElement('span');
    text.textContent = 'x'.repeat(400);
    probe.appendChild(text);
    firstPre.querySelector('code').appendChild(probe);
    const rects = [...text.getClientRects()];
    const one = text.getBoundingClientRect().width / 400;
    const firstRow = document.createRange();
    firstRow.setStart(text.firstChild, 0); firstRow.setEnd(text.firstChild, 1);
    const top = firstRow.getBoundingClientRect().top;
    let n = 0;
    for (let i = 1; i <= 400; i++) {
      const r = document.createRange(); r.setStart(text.firstChild, i - 1); r.setEnd(text.firstChild, i);
      if (Math.abs(r.getBoundingClientRect().top - top) > 1) break;
      if (r.getBoundingClientRect().right > firstPre.getBoundingClientRect().right) break;
      n = i;
    }
    probe.remove();
    out.codeChars = n;
    out.charWidth = one;
  }
  const header = document.querySelector('.site-header');
  out.header = Math.round(header.getBoundingClientRect().height);
  // Display formulas: fully visible, or scrollable with a fade on the hidden side
  out.formulas = [...document.querySelectorAll('main .katex-display')].map(d => {
    const r = d.getBoundingClientRect();
    const style = getComputedStyle(d);
    const mask = style.maskImage || style.webkitMaskImage || 'none';
    return {fits: d.scrollWidth <= d.clientWidth + 3 && r.right <= innerWidth + 1 && r.left >= -1,
            scrolls: /auto|scroll/.test(style.overflowX), more: d.dataset.more || '', mask: mask !== 'none',
            tex: (d.querySelector('annotation') || {}).textContent || ''};
  });
  out.overflow = document.documentElement.scrollWidth - innerWidth;
  const link = document.querySelector('.site-footer a.source-link');
  out.source = link ? link.href : null;
  return out;
}'''


def measured_pages() -> list[str]:
    """Every English page, and the home and Sophia pages in Chinese and Japanese."""
    pages = english_pages()
    return pages + [f'{lang}/{out}' for lang in ('zh', 'ja') for out in ('index.html', SOPHIA) if out in pages]


@pytest.fixture(scope='module')
def measured(site, chromium):
    """Every page of `measured_pages()` measured at 1400 px and 390 px (light), and in dark mode."""
    found = {}
    for width, height in ((WIDE, SCREEN), (NARROW, 844)):
        context = chromium.new_context(viewport={'width': width, 'height': height}, color_scheme='light')
        try:
            for out in measured_pages():
                page, errors = open_page(context, site['url'] + out)
                found[out, width] = page.evaluate(MEASURE)
                if width == WIDE:
                    found[out, 'italic'] = page.evaluate(ITALIC_RUNS)
                    page.emulate_media(color_scheme='dark')
                    found[out, 'dark'] = page.evaluate(DARK)
                    page.emulate_media(color_scheme='light')
                if width == NARROW:
                    # Scrolled to its end, a wide formula fades on the left instead
                    found[out, 'scrolled'] = page.evaluate('''() => [...document.querySelectorAll('main .katex-display')]
                      .filter(d => d.scrollWidth > d.clientWidth + 3).map(d => {
                        d.scrollLeft = d.scrollWidth; d.dispatchEvent(new Event('scroll'));
                        return d.dataset.more || ''; })''')
                assert not errors, f'{out}: {errors}'
                page.close()
        finally:
            context.close()
    return found


@needs_browser
@pytest.mark.browser
def test_no_screen_of_notes_beside_an_empty_code_column(measured):
    bad = {out: (m['emptyCodeRun'], m['emptyCodeRunAt']) for (out, w), m in measured.items()
           if w == WIDE and m['emptyCodeRun'] > SCREEN}
    assert not bad, f'at {WIDE}px, code column empty for more than {SCREEN}px beside notes (px, at y): {bad}'
    sophia = measured[SOPHIA, WIDE]
    print(f'{SOPHIA} at {WIDE}px: first code at {sophia["firstCode"]}px, longest empty code column {sophia["emptyCodeRun"]}px')


@needs_browser
@pytest.mark.browser
def test_no_code_line_hidden_and_notes_commands_wrap(measured):
    for (out, w), m in measured.items():
        if w not in (WIDE, NARROW):
            continue
        assert not m['hiddenLines'], f'{out} at {w}px: code lines hidden behind a scroll: {m["hiddenLines"][:3]}'
        assert m['scrollingBlocks'] == 0, f'{out} at {w}px: {m["scrollingBlocks"]} code blocks scroll sideways'
        assert not m['brokenLineNumbers'], f'{out} at {w}px: line numbers wrapped or cut: {m["brokenLineNumbers"][:5]}'
        assert not m['notesCodeHidden'], f'{out} at {w}px: code in the notes cut off: {m["notesCodeHidden"][:3]}'


@needs_browser
@pytest.mark.browser
def test_phone_width_header_formulas_and_code(measured):
    for (out, w), m in measured.items():
        if w != NARROW:
            continue
        assert m['header'] <= MAX_HEADER, f'{out} at {NARROW}px: header {m["header"]}px high'
        assert m['overflow'] <= 1, f'{out} at {NARROW}px: the page is {m["overflow"]}px wider than the screen'
        if m['codeChars'] is not None:
            assert m['codeChars'] >= MIN_CODE_CHARS, f'{out} at {NARROW}px: a code row holds {m["codeChars"]} characters'
        for f in m['formulas']:
            if not f['fits']:
                assert f['scrolls'] and 'right' in f['more'] and f['mask'], \
                    f'{out} at {NARROW}px: formula cut without a fade: {f["tex"][:60]!r}'
        for more in measured[out, 'scrolled']:
            assert more == 'left', f'{out}: a formula scrolled to its end still fades on the right ({more!r})'


@needs_browser
@pytest.mark.browser
def test_every_page_links_to_its_source(measured, site, chromium):
    context = chromium.new_context()
    try:
        for (out, w), m in measured.items():
            if w != WIDE:
                continue
            assert m['source'], f'{out}: no source link'
            r = context.request.get(m['source'])
            assert r.ok, f'{out}: source link {m["source"]} answers {r.status}'
            rel = urlparse(m['source']).path.split('/', 1)[1]
            if out.startswith(('zh/', 'ja/')):
                rel = rel.split('/', 1)[1]
            assert r.body() == (SOURCE / rel).read_bytes().replace(b'\r\n', b'\n'), f'{out}: {m["source"]} is not the module'
    finally:
        context.close()


# Italic letters are KaTeX's `mord mathnormal` spans; KaTeX merges neighbours into one span where
# it can (`αx`), so a run counts the Latin letters of consecutive such spans
ITALIC_RUNS = r'''() => {
  const found = [];
  for (const html of document.querySelectorAll('.katex-html')) {
    const tex = (html.parentElement.querySelector('annotation') || {}).textContent || '';
    for (const parent of new Set([...html.querySelectorAll('.mord.mathnormal')].map(e => e.parentElement))) {
      let run = '';
      for (const el of [...parent.children, null]) {
        const letter = el && el.classList.contains('mathnormal') && el.classList.contains('mord') &&
          /^[A-Za-z]+$/.test(el.textContent) && !el.querySelector('*');
        if (letter) { run += el.textContent; continue; }
        if (run.length >= 3) found.push({run, tex});
        run = '';
      }
    }
  }
  return found;
}'''


@needs_browser
@pytest.mark.browser
def test_no_italic_runs_in_formulas(measured):
    bad = [(out, f['run'], f['tex'][:80]) for (out, kind), found in measured.items() if kind == 'italic'
           for f in found if f['tex'] not in ITALIC_RUNS_ALLOWED]
    assert not bad, ('multi-letter italic runs in formulas (use \\operatorname{...}, \\text{...} or '
                     f'\\texttt{{...}} for names): {bad}')


DARK = r'''() => {
  const colour = el => getComputedStyle(el).backgroundColor;
  const opaque = c => !/rgba\(.*,\s*0\)$/.test(c) && c !== 'transparent';
  const cells = [...document.querySelectorAll('main .section > .code')].filter(c => c.getBoundingClientRect().height > 0);
  const shades = new Set();
  for (const c of cells) {
    shades.add(colour(c));
    for (const el of c.querySelectorAll('pre, code')) if (opaque(colour(el))) shades.add(colour(el));
  }
  const inline = [];
  for (const code of document.querySelectorAll('main .docs code')) {
    if (code.closest('pre')) continue;
    const around = Number(getComputedStyle(code.parentElement).fontWeight);
    for (const el of [code, ...code.querySelectorAll('*')]) {
      const s = getComputedStyle(el);
      const [r, g, b] = s.color.match(/\d+/g).map(Number);
      if (el.classList.contains('err') || Number(s.fontWeight) > around || (r > 200 && g < 140 && b < 140))
        inline.push(code.textContent);
    }
  }
  return {shades: [...shades], inline: [...new Set(inline)]};
}'''


@needs_browser
@pytest.mark.browser
def test_dark_mode_inline_code_and_one_shade_of_code_column(measured):
    for (out, kind), m in measured.items():
        if kind != 'dark':
            continue
        assert len(m['shades']) <= 1, f'{out}: the code column has several shades {m["shades"]}'
        assert not m['inline'], f'{out}: inline code coloured as an error or operator: {m["inline"][:5]}'


FONT = r'''() => {
  const els = [...document.querySelectorAll('main .code pre, main .docs code, main .docs pre')];
  const probe = document.createElement('span');
  probe.textContent = 'x'.repeat(100);
  const pre = document.querySelector('main .code pre code');
  pre.appendChild(probe);
  const width = probe.getBoundingClientRect().width / 100;
  probe.remove();
  const face = [...document.fonts].find(f => f.family.replace(/["']/g, '') === 'Pylit Mono');
  return {families: [...new Set(els.map(e => getComputedStyle(e).fontFamily.split(',')[0].replace(/["']/g, '').trim()))],
          loaded: face ? face.status : 'missing', width};
}'''


@needs_browser
@pytest.mark.browser
def test_one_monospace_font_in_every_language_and_the_page_weight(site, chromium):
    widths = {}
    for lang in ('', 'zh/', 'ja/'):
        context = chromium.new_context(viewport={'width': WIDE, 'height': SCREEN})
        sizes = []
        context.on('response', lambda r, sizes=sizes: sizes.append(len(r.body())) if r.ok else None)
        try:
            page, errors = open_page(context, site['url'] + lang + SOPHIA)
            m = page.evaluate(FONT)
            page.wait_for_load_state('networkidle')
        finally:
            context.close()
        assert m['families'] == ['Pylit Mono'], f'{lang or "en/"}{SOPHIA}: code fonts {m["families"]}'
        assert m['loaded'] == 'loaded', f'{lang or "en/"}{SOPHIA}: the code font is {m["loaded"]}'
        widths[lang] = round(m['width'], 3)
        if not lang:
            total = sum(sizes)
            print(f'{SOPHIA}: first visit {total} bytes in {len(sizes)} responses')
            assert total <= MAX_FIRST_VISIT, f'{SOPHIA}: first visit {total} bytes > {MAX_FIRST_VISIT}'
    assert len(set(widths.values())) == 1, f'code glyphs differ in width per language: {widths}'


def _search(page, query: str) -> list[str]:
    page.fill('.search-input', query)
    page.wait_for_selector('.search-results .result')
    return page.eval_on_selector_all('.search-results .excerpt', 'els => els.map(e => e.textContent)')


CONTENTS = r'''async (query) => {
  const pf = await import(new URL('pagefind/pagefind.js', new URL(document.querySelector('.search').dataset.siteRoot, location.href)).href);
  await pf.init();
  const found = await pf.search(query);
  const datas = await Promise.all(found.results.slice(0, 8).map(r => r.data()));
  return datas.map(d => d.content);
}'''


@needs_browser
@pytest.mark.browser
def test_search_excerpts_start_at_a_word_and_show_tex(site, chromium):
    context = chromium.new_context(viewport={'width': WIDE, 'height': SCREEN})
    try:
        for url, query in ((SOPHIA, 'gradient'), ('zh/' + SOPHIA, 'Sophia'), ('zh/' + SOPHIA, '优化器')):
            page, errors = open_page(context, site['url'] + url)
            excerpts = _search(page, query)
            contents = page.evaluate(CONTENTS, query)
            squeezed = [re.sub(r'\s+', ' ', c) for c in contents]
            assert excerpts
            for e in excerpts:
                text = re.sub(r'\s+', ' ', e).removeprefix('\u2026 ').strip()
                head = text[:30]
                where = [c.find(head) for c in squeezed if head in c]
                assert where, f'{url} {query!r}: excerpt {e!r} is not in the indexed text'
                for c in squeezed:
                    i = c.find(head)
                    if i > 0:
                        before, first = c[i - 1], text[0]
                        wordy = re.compile(r'[A-Za-z0-9_\-.,;:)\]]')
                        assert not (wordy.match(before) and wordy.match(first)), \
                            f'{url} {query!r}: excerpt starts inside a word: {c[max(0, i - 15):i]!r}|{text[:20]!r}'
                        break
            assert not errors, errors
            page.close()
        # Formulas are indexed as their TeX, never as the flattened symbols of their MathML
        page, _ = open_page(context, site['url'] + SOPHIA)
        flat = page.evaluate('''() => [...document.querySelectorAll('main .katex-display .katex-mathml semantics')]
          .map(s => [s.firstElementChild.textContent.replace(/\\s+/g, ''), s.querySelector('annotation').textContent.replace(/\\s+/g, '')])''')
        content = re.sub(r'\s+', '', '\n'.join(page.evaluate(CONTENTS, 'Hessian')))
        assert flat
        for symbols, tex in flat:
            if len(symbols) >= 6:
                assert symbols not in content, f'flattened formula {symbols!r} in the search index'
        assert any(tex in content for _, tex in flat), 'no formula of the Sophia page is indexed as TeX'
        page.close()
    finally:
        context.close()


@needs_browser
@pytest.mark.browser
def test_live_reload_connects_only_from_the_preview_server(site, chromium, tmp_path):
    # A page served by another server has no reload script and opens no event stream
    context = chromium.new_context()
    requests = []
    context.on('request', lambda r: requests.append(r.url))
    try:
        page, _ = open_page(context, site['url'] + SOPHIA)
        assert page.locator('script[src*="__pylit"]').count() == 0
        assert not [u for u in requests if '/__pylit/' in u]
        empty = tmp_path / 'src'
        empty.mkdir()
        proc = subprocess.Popen([sys.executable, '-m', 'pylit.serve', '--no-build', '--port', '0', '--source', str(empty),
                                 '--docs', str(site['docs']), '--translate_cache', str(tmp_path / 'none')],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = proc.stdout.readline()
            url = line[line.index('http://'):].split()[0]
            # `?nolive`: the script is there but does not connect
            page.goto(url + SOPHIA + '?nolive', wait_until='load')
            assert page.locator('script[src="/__pylit/reload.js"]').count() == 1
            page.wait_for_timeout(300)
            assert not [u for u in requests if '/__pylit/events' in u]
            assert page.evaluate('document.documentElement.dataset.pylitLive') is None
            page.goto(url + SOPHIA, wait_until='load')
            page.wait_for_function('document.documentElement.dataset.pylitLive === "connected"')
            # The script itself, fetched on its own by another page, does not connect
            requests.clear()
            page.goto(site['url'] + 'index.html', wait_until='load')
            page.add_script_tag(url=url + '__pylit/reload.js')
            page.wait_for_timeout(300)
            assert not [u for u in requests if '/__pylit/events' in u]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        context.close()
