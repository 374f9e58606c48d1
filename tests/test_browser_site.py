"""
The built site in a real browser: Debian's headless Chromium driven by Playwright.

The site is built once per test session from the real `labml_nn/` (English, plus the Chinese and
Japanese builds from a temporary copy of `translate_cache/`, so the repository's cache files are
never touched), indexed with Pagefind, and served from a local `http.server` thread on
127.0.0.1. A small fixture site (a module written here, with a diagram beside it and a Chinese
translation) is served beside it for the features the real pages may not exercise yet.

Every English page, and a sample of translated ones, is checked for: no console error, no request
leaving 127.0.0.1, every formula typeset by KaTeX (no error element, KaTeX's fonts loaded), notes
and code side by side at 1280px and stacked at 375px. Then the reading features: identifier and
equation-symbol highlighting (mouse and keyboard), search, the language switcher, dark mode,
enlarged images and the live-reloading dev server. Screenshots go to `test-artifacts/`.
"""

from __future__ import annotations

import functools
import http.server
import os
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
ARTIFACTS = REPO / 'test-artifacts'
LANGS = ('zh', 'ja')
FLAGS = ['--remove_empty_sections', '--title_md', '--languages', 'en,zh,ja',
         '--site_url', 'http://127.0.0.1:8000', '--jobs', '2']
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip('/usr/bin/chromium is not installed (make browser installs it)', allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

sys.path.insert(0, str(REPO))
from pylit.discover import discover  # noqa: E402
from pylit.page import html_lang  # noqa: E402


def english_pages() -> list[str]:
    """The pages the real site has, known at collection time from the sources."""
    entries = [SOURCE / n for n in sorted(os.listdir(SOURCE)) if not n.startswith('.')]
    sources, _ = discover([str(e) for e in entries], SOURCE)
    return [s.out for s in sources]


ENGLISH = english_pages()
SOPHIA = 'optimizers/sophia.html'


def translated_sample() -> list[tuple[str, str]]:
    """The home page, the Sophia page and the first folder's index page, in each language."""
    pages = ['index.html', SOPHIA] + [p for p in ENGLISH if p.endswith('/index.html')][:1]
    pages = [p for p in dict.fromkeys(pages) if p in ENGLISH]
    return [(lang, p) for lang in LANGS for p in pages]


# ## Building and serving the sites (once per session)

def pylit(args: list[str], cwd: Path):
    entries = sorted(n for n in os.listdir(cwd) if not n.startswith('.'))
    r = subprocess.run([sys.executable, '-m', 'pylit', *args, *entries], cwd=cwd,
                       capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert r.returncode == 0, f'pylit {" ".join(args)} failed:\n{r.stdout}{r.stderr}'


def index(site: Path):
    r = subprocess.run([sys.executable, str(REPO / 'utils' / 'search.py'), '--site', str(site)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


FIXTURE_HOME = '''"""
---
title: Fixture home
summary: The home page of the fixture site.
---

# Fixture home
"""
'''

FIXTURE_INDEX = '''"""
---
title: Demo folder
summary: A folder of the fixture site.
---

# Demo folder

* [The page](page.html)
"""
'''

FIXTURE_PAGE = r'''"""
---
title: Fixture page
summary: A page with formulas, code and a diagram, for the browser tests.
---

# Fixture page

The moving average is $m_t$ and its rate is $\beta_1$.

$$m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$$

This paragraph explains the optimizer.

![A box](box.svg)

The name `state` in the notes is the `state` of the code. Version one.
"""

import math


def update(state, grad, beta1):
    """
    ## Update

    Keeps the moving average $m_t$ of the gradients $g_t$.
    """
    # $m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$
    state = beta1 * state + (1 - beta1) * grad
    return state + math.pi * 0
'''

FIXTURE_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 120 60">'
               '<rect x="2" y="2" width="116" height="56" fill="#ddf4ff" stroke="#0969da"/></svg>\n')


def write_fixture(src: Path, cache: Path):
    (src / 'demo').mkdir(parents=True)
    (src / '__init__.py').write_text(FIXTURE_HOME)
    (src / 'demo' / '__init__.py').write_text(FIXTURE_INDEX)
    (src / 'demo' / 'page.py').write_text(FIXTURE_PAGE)
    (src / 'demo' / 'box.svg').write_text(FIXTURE_SVG)
    # A Chinese translation of the title and of one paragraph
    from pylit.parse import parse_module
    from pylit.translate.cache import dumps
    from pylit.translate.keys import module_keys
    keys = module_keys(parse_module(FIXTURE_PAGE), 'page.py')
    values = {k: k for k in keys}
    values['Fixture page'] = '测试页面'
    for k in keys:
        if 'This paragraph explains the optimizer.' in k:
            values[k] = k.replace('This paragraph explains the optimizer.', '这一段解释优化器的工作方式。')
    assert values != {k: k for k in keys}, 'the fixture translation found no key to translate'
    (cache / 'demo').mkdir(parents=True)
    (cache / 'demo' / 'page.zh.json').write_text(dumps(values))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope='session')
def sites(tmp_path_factory):
    """Build the real site and the fixture site, index them and serve them on 127.0.0.1."""
    top = tmp_path_factory.mktemp('served')
    site = top / 'site'
    cache = tmp_path_factory.mktemp('cache') / 'translate_cache'
    if (REPO / 'translate_cache').is_dir():
        shutil.copytree(REPO / 'translate_cache', cache)
    else:
        cache.mkdir()
    # Every language in one run, as `make docs` builds them
    pylit([*FLAGS, '--translate_cache', str(cache), '-d', str(site)], SOURCE)
    index(site)

    fixture = top / 'fixture'
    fsrc = tmp_path_factory.mktemp('fixture-src') / 'src'
    fcache = tmp_path_factory.mktemp('fixture-cache') / 'cache'
    write_fixture(fsrc, fcache)
    fflags = ['--remove_empty_sections', '--title_md', '--languages', 'en,zh']
    pylit([*fflags, '-d', str(fixture)], fsrc)
    pylit([*fflags, '--translate', 'zh', '--translate_cache', str(fcache), '-d', str(fixture / 'zh')], fsrc)
    index(fixture)

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(QuietHandler, directory=str(top)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f'http://127.0.0.1:{server.server_address[1]}'
    yield {'site': f'{base}/site/', 'fixture': f'{base}/fixture/', 'site_dir': site,
           'fixture_src': fsrc, 'fixture_dir': fixture}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='session')
def browser(shared_chromium):
    return shared_chromium


class Watched:
    """A browser page that records console errors, page errors and every request."""

    def __init__(self, context):
        self.context = context
        self.page = context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on('console', lambda m: self.errors.append(f'console {m.type}: {m.text}') if m.type == 'error' else None)
        self.page.on('pageerror', lambda e: self.errors.append(f'page error: {e}'))
        context.on('request', lambda r: self.requests.append(r.url))

    def goto(self, url: str):
        response = self.page.goto(url, wait_until='load')
        assert response is not None and response.ok, f'{url}: HTTP {response.status if response else "no response"}'
        self.page.evaluate('document.fonts.ready.then(() => true)')

    def outside_requests(self) -> list[str]:
        bad = []
        for u in self.requests:
            p = urlparse(u)
            if p.scheme in ('data', 'blob', 'about'):
                continue
            if p.hostname != '127.0.0.1':
                bad.append(u)
        return bad


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={'width': 1280, 'height': 900})
    w = Watched(context)
    yield w
    context.close()


def shot(page, name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


# ## Checks shared by every page

MATH_STATE = '''() => {
  const formulas = [...document.querySelectorAll('.katex')];
  const unrendered = formulas.filter(k => {
    const h = k.querySelector('.katex-html');
    return !h || h.getBoundingClientRect().width === 0;
  }).length;
  const fonts = [...document.fonts].filter(f => f.family.replace(/["']/g, '').startsWith('KaTeX_'));
  return {
    formulas: formulas.length,
    unrendered,
    errors: document.querySelectorAll('.katex-error, .math-error').length,
    fontsLoaded: fonts.filter(f => f.status === 'loaded').length,
    fontsFailed: fonts.filter(f => f.status === 'error').map(f => f.family),
  };
}'''

LAYOUT = '''(mode) => {
  const bad = [];
  for (const s of document.querySelectorAll('main .section')) {
    const docs = s.querySelector(':scope > .docs'), code = s.querySelector(':scope > .code');
    if (!docs || !code || !code.querySelector('pre')) continue;
    const hasNotes = [...docs.childNodes].some(n => !(n.nodeType === 1 && n.classList.contains('anchor')) && n.textContent.trim());
    if (!hasNotes) continue;
    const d = docs.getBoundingClientRect(), c = code.getBoundingClientRect();
    if (mode === 'side') {
      if (!(c.left >= d.right - 1 && Math.abs(c.top - d.top) <= 1)) bad.push(s.id + ': not side by side');
    } else {
      if (!(c.top >= d.bottom - 1 && Math.abs(c.left - d.left) <= 1)) bad.push(s.id + ': not stacked');
    }
  }
  return {bad, sections: document.querySelectorAll('main .section').length,
          overflow: document.documentElement.scrollWidth - window.innerWidth};
}'''


def check_page(w: Watched, url: str):
    w.goto(url)
    page = w.page
    math = page.evaluate(MATH_STATE)
    assert math['errors'] == 0, f'{url}: {math["errors"]} formulas KaTeX could not render'
    assert math['unrendered'] == 0, f'{url}: {math["unrendered"]} formulas have no typeset output'
    if math['formulas']:
        assert math['fontsLoaded'] > 0, f'{url}: KaTeX fonts did not load'
    assert not math['fontsFailed'], f'{url}: KaTeX fonts failed: {math["fontsFailed"]}'
    side = page.evaluate(LAYOUT, 'side')
    assert side['sections'] > 0
    assert not side['bad'], f'{url} at 1280px: {side["bad"][:5]}'
    page.set_viewport_size({'width': 375, 'height': 800})
    stacked = page.evaluate(LAYOUT, 'stacked')
    assert not stacked['bad'], f'{url} at 375px: {stacked["bad"][:5]}'
    assert stacked['overflow'] <= 1, f'{url} at 375px: the page is {stacked["overflow"]}px wider than the screen'
    page.set_viewport_size({'width': 1280, 'height': 900})
    assert not w.errors, f'{url}: {w.errors}'
    assert not w.outside_requests(), f'{url}: requests left 127.0.0.1: {w.outside_requests()}'


# ## Every page

@pytest.mark.parametrize('out', ENGLISH)
def test_english_page(sites, watched, out):
    check_page(watched, sites['site'] + out)


@pytest.mark.parametrize('lang,out', translated_sample())
def test_translated_page(sites, watched, lang, out):
    check_page(watched, f'{sites["site"]}{lang}/{out}')
    page = watched.page
    assert page.evaluate('document.documentElement.lang') == html_lang(lang)   # zh -> zh-Hans
    # The reading features run there too, without errors
    ident = page.locator('.code pre span.n').first
    if ident.count():
        ident.click()
        assert page.locator('.ident-hl').count() >= 1
    page.wait_for_function('document.querySelectorAll(".katex").length === 0 || document.querySelector(".sym") !== null')
    sym = page.locator('.katex-html .sym').first
    if sym.count():
        sym.scroll_into_view_if_needed()
        sym.click()
        assert page.locator('.sym-on').count() >= 1
    page.keyboard.press('Escape')
    assert page.locator('.ident-hl, .sym-on').count() == 0
    assert not watched.errors, watched.errors
    if out == SOPHIA:
        shot(page, f'{lang}-sophia-1280.png')


def test_fixture_pages(sites, watched):
    for out in ('index.html', 'demo/index.html', 'demo/page.html', 'zh/demo/page.html'):
        check_page(watched, sites['fixture'] + out)


# ## Highlighting identifiers in the code

def test_clicking_an_identifier_highlights_all_its_occurrences(sites, watched):
    assert SOPHIA in ENGLISH, 'labml_nn/optimizers/sophia.py is missing'
    watched.goto(sites['site'] + SOPHIA)
    page = watched.page
    # The identifier of the code column with the most occurrences on the page
    name, count = page.evaluate('''() => {
      const names = new Set(['n','nb','bp','nf','nc','nn','ne','fm','vm','nv','na','nd','py']);
      const counts = {};
      for (const s of document.querySelectorAll('.code pre span')) if (names.has(s.className)) counts[s.textContent] = (counts[s.textContent] || 0) + 1;
      return Object.entries(counts).sort((a, b) => b[1] - a[1])[0];
    }''')
    assert count >= 2
    occurrences = page.evaluate('''(name) => {
      const names = new Set(['n','nb','bp','nf','nc','nn','ne','fm','vm','nv','na','nd','py']);
      return [...document.querySelectorAll('.code pre span, .docs code.highlight span')]
        .filter(s => names.has(s.className) && s.textContent === name).length;
    }''', name)
    page.evaluate('''(name) => {
      const names = new Set(['n','nb','bp','nf','nc','nn','ne','fm','vm','nv','na','nd','py']);
      [...document.querySelectorAll('.code pre span')].find(s => names.has(s.className) && s.textContent === name)
        .setAttribute('data-test-target', '');
    }''', name)
    target = page.locator('[data-test-target]')
    target.scroll_into_view_if_needed()
    target.click()
    lit = page.eval_on_selector_all('.ident-hl', 'els => els.map(e => e.textContent)')
    assert lit == [name] * occurrences
    shot(page, 'en-sophia-identifier.png')
    target.click()
    assert page.locator('.ident-hl').count() == 0
    assert not watched.errors


def test_identifiers_by_keyboard(sites, watched):
    watched.goto(sites['fixture'] + 'demo/page.html')
    page = watched.page
    # Tab reaches the code blocks, one stop each; stop at the one with `def update(state, ...)`
    in_update = 'document.activeElement.matches(".code pre") && document.activeElement.textContent.includes("def update")'
    for _ in range(40):
        page.keyboard.press('Tab')
        if page.evaluate(in_update):
            break
    assert page.evaluate(in_update), 'Tab never reached the code block of update()'
    # Walk to `state`, highlight it with Enter, clear it with Escape
    for _ in range(30):
        page.keyboard.press('ArrowRight')
        if page.evaluate('(document.querySelector(".ident-cursor") || {}).textContent') == 'state':
            break
    assert page.evaluate('document.querySelector(".ident-cursor").textContent') == 'state'
    page.keyboard.press('Enter')
    # `state` is in the code four times and in the notes' inline code twice
    assert page.eval_on_selector_all('.ident-hl', 'els => els.map(e => e.textContent)') == ['state'] * 6
    assert 'state' in page.text_content('.sr-status')
    page.keyboard.press('Escape')
    assert page.locator('.ident-hl').count() == 0
    assert not watched.errors


# ## Symbols in the equations

def test_equation_symbols(sites, watched):
    watched.goto(sites['fixture'] + 'demo/page.html')
    page = watched.page
    page.wait_for_selector('.katex-html .sym', state='attached')
    groups = page.evaluate('''() => {
      const by = {};
      for (const s of document.querySelectorAll('.katex-html .sym')) {
        const t = s.textContent.replace(/\\u200b/g, '');
        (by[t] = by[t] || []).push(s.style.getPropertyValue('--c'));
      }
      return by;
    }''')
    # m_t and m_{t-1} are one symbol; beta_1 another; each has one colour
    assert len(groups['mt']) == 4 and len(groups['mt−1']) == 2
    assert len(set(groups['mt'] + groups['mt−1'])) == 1
    assert len(set(groups['β1'])) == 1 and groups['β1'][0] != groups['mt'][0]
    first = page.locator('.katex-html .sym', has_text='β').first
    plain = page.evaluate('getComputedStyle(document.querySelector(".katex-html .sym")).color')
    first.hover()
    hovered = page.eval_on_selector_all('.sym-hover', 'els => [...new Set(els.map(e => getComputedStyle(e).color))]')
    assert page.locator('.sym-hover').count() == 5 and len(hovered) == 1 and hovered[0] != plain
    first.click()
    pinned = page.evaluate('''() => {
      const on = [...document.querySelectorAll('.sym-on')];
      return {count: on.length, formulas: new Set(on.map(e => e.closest('.katex'))).size};
    }''')
    # beta_1 is in three formulas: the inline one, the display one, and the comment's
    assert pinned == {'count': 5, 'formulas': 3}
    page.mouse.move(1, 1)
    shot(page, 'fixture-symbols.png')
    first.click()
    assert page.locator('.sym-on').count() == 0
    # By keyboard: focus a formula, move to a symbol, pin it, clear with Escape
    page.focus('.docs .katex')
    page.keyboard.press('ArrowRight')
    assert page.locator('.sym-cursor').count() == 1
    page.keyboard.press('Enter')
    assert page.locator('.sym-on').count() == 6   # m_t, in the four formulas that hold it
    page.keyboard.press('Escape')
    assert page.locator('.sym-on').count() == 0
    assert not watched.errors


# ## Search

def search(page, query: str):
    page.fill('.search-input', query)
    # Wait for the results, or for a note that is not the "searching" one
    page.wait_for_function('''() => {
      const panel = document.querySelector('.search-results');
      const note = panel.querySelector('.note');
      return !panel.hidden && (panel.querySelector('.result') || (note && !note.textContent.endsWith('…')));
    }''')
    return page.eval_on_selector_all('.search-results a', 'els => els.map(e => e.href)')


def test_search_finds_the_sophia_page_at_a_section(sites, watched):
    watched.goto(sites['site'] + 'index.html')
    page = watched.page
    links = search(page, 'Hessian')
    sophia = [l for l in links if urlparse(l).path.endswith('/site/' + SOPHIA)]
    assert sophia, f'no result for the Sophia page among {links}'
    assert all(urlparse(l).fragment.startswith('section-') for l in sophia)
    shot(page, 'en-search-hessian.png')
    page.locator('.search-results a', has_text='Sophia').first.click()
    page.wait_for_url('**/' + SOPHIA + '#section-*')
    anchor = urlparse(page.url).fragment
    assert page.evaluate('(id) => !!document.getElementById(id)', anchor)
    assert not watched.errors
    assert not watched.outside_requests()


def test_search_in_chinese(sites, watched):
    watched.goto(sites['fixture'] + 'zh/demo/page.html')
    page = watched.page
    links = search(page, '优化器')
    assert any(urlparse(l).path.endswith('/fixture/zh/demo/page.html') for l in links), links
    assert not watched.errors


# ## Languages, themes, images

def test_language_switcher_leads_to_the_same_page_in_chinese(sites, watched):
    watched.goto(sites['site'] + SOPHIA)
    page = watched.page
    page.click('.languages a[hreflang="zh-Hans"]')
    page.wait_for_load_state('load')
    assert urlparse(page.url).path.endswith('/site/zh/' + SOPHIA)
    assert page.evaluate('document.documentElement.lang') == 'zh-Hans'
    assert page.locator('.languages .current').get_attribute('lang') == 'zh-Hans'
    assert not watched.errors


def background(page, selector: str) -> tuple[int, ...]:
    value = page.evaluate('(s) => getComputedStyle(document.querySelector(s)).backgroundColor', selector)
    return tuple(int(float(x)) for x in value[value.index('(') + 1:value.index(')')].split(',')[:3])


def is_dark(rgb) -> bool:
    return sum(rgb) / 3 < 80


def test_dark_mode_follows_the_system_and_the_toggle_remembers(sites, browser):
    context = browser.new_context(viewport={'width': 1280, 'height': 900}, color_scheme='dark')
    try:
        w = Watched(context)
        w.goto(sites['site'] + SOPHIA)
        page = w.page
        assert is_dark(background(page, 'body'))
        assert is_dark(background(page, '.code'))
        colour = page.evaluate('getComputedStyle(document.querySelector(".katex")).color')
        assert sum(int(x) for x in colour[colour.index('(') + 1:-1].split(',')[:3]) / 3 > 150, 'KaTeX text is not light on dark'
        shot(page, 'en-sophia-dark.png')
        page.click('.theme-toggle')
        assert page.evaluate('document.documentElement.dataset.theme') == 'light'
        assert not is_dark(background(page, 'body'))
        page.reload()
        page.wait_for_load_state('load')
        assert not is_dark(background(page, 'body')), 'the chosen theme was not remembered'
        assert not w.errors
    finally:
        context.close()
    context = browser.new_context(viewport={'width': 1280, 'height': 900}, color_scheme='light')
    try:
        w = Watched(context)
        w.goto(sites['site'] + 'index.html')
        page = w.page
        assert not is_dark(background(page, 'body'))
        page.click('.theme-toggle')
        assert is_dark(background(page, 'body'))
        assert not w.errors
    finally:
        context.close()


def test_images_in_notes_open_enlarged(sites, watched):
    watched.goto(sites['fixture'] + 'demo/page.html')
    page = watched.page
    img = page.locator('.docs img.zoomable')
    assert img.count() == 1
    small = img.bounding_box()
    img.click()
    dialog = page.locator('dialog.lightbox[open]')
    dialog.wait_for()
    big = dialog.locator('img').bounding_box()
    assert big['width'] > small['width'] * 2
    page.keyboard.press('Escape')
    assert page.locator('dialog.lightbox[open]').count() == 0
    # And by keyboard
    img.focus()
    page.keyboard.press('Enter')
    dialog.wait_for()
    page.keyboard.press('Escape')
    assert not watched.errors


def test_screenshots(sites, watched):
    page = watched.page
    watched.goto(sites['site'] + 'index.html')
    shot(page, 'en-home-1280.png')
    watched.goto(sites['site'] + SOPHIA)
    shot(page, 'en-sophia-1280.png')
    page.set_viewport_size({'width': 375, 'height': 800})
    shot(page, 'en-sophia-375.png')
    assert not watched.errors


# ## Live preview

def test_dev_server_rebuilds_and_reloads_the_open_page(sites, watched, tmp_path):
    src = tmp_path / 'src'
    shutil.copytree(sites['fixture_src'], src)
    docs = tmp_path / 'docs'
    proc = subprocess.Popen([sys.executable, '-m', 'pylit.serve', '--port', '0', '--source', str(src),
                             '--docs', str(docs), '--translate_cache', str(tmp_path / 'none'),
                             '--', '--remove_empty_sections', '--title_md'],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert 'http://127.0.0.1:' in line, line
        url = line[line.index('http://'):].split()[0]
        assert urlparse(url).hostname == '127.0.0.1'
        page = watched.page
        watched.goto(url + 'demo/page.html')
        assert page.locator('script[src="/__pylit/reload.js"]').count() == 1
        assert '/__pylit/' not in (docs / 'demo' / 'page.html').read_text(), 'the reload script leaked into the built page'
        page.wait_for_function('document.documentElement.dataset.pylitLive === "connected"')
        page_py = src / 'demo' / 'page.py'
        page_py.write_text(page_py.read_text().replace('Version one.', 'Version two.'))
        page.wait_for_function('document.body.textContent.includes("Version two.")', timeout=60_000)
        # A broken source shows the build error on the page; fixing it clears the banner
        page_py.write_text(page_py.read_text() + '\ndef broken(:\n')
        page.wait_for_selector('.pylit-dev-banner', timeout=60_000)
        assert 'error' in page.text_content('.pylit-dev-banner')
        page_py.write_text(page_py.read_text().replace('\ndef broken(:\n', '\n'))
        page.wait_for_selector('.pylit-dev-banner', state='detached', timeout=60_000)
        assert not [e for e in watched.errors if 'pylit' not in e]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
