"""
In a browser (issue 15): the language switcher keeps the reader on the same section, and the
translation-status page renders. A small site of one long page in English and Chinese.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path('/usr/bin/chromium')

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip('/usr/bin/chromium is not installed (make browser installs it)', allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

LONG = ' '.join(['Words to make the note tall.'] * 60)
MODULE = '"""\n---\ntitle: Long page\nsummary: A page with many sections.\n---\n\n# Long page\n"""\n\n' + ''.join(
    f'\n# Note {i}: {LONG}\nx{i} = {i}\n' for i in range(8))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def pylit(args, cwd):
    r = subprocess.run([sys.executable, '-m', 'pylit', *args], cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    top = tmp_path_factory.mktemp('tsite')
    src = top / 'src'
    src.mkdir()
    (src / 'long.py').write_text(MODULE)
    cache = top / 'cache'
    flags = ['--remove_empty_sections', '--title_md', '--languages', 'en,zh']
    pylit([*flags, '-d', str(top / 'docs'), 'long.py'], src)
    pylit([*flags, '--translate', 'zh', '--translate_cache', str(cache), '-d', str(top / 'docs' / 'zh'), 'long.py'], src)
    r = subprocess.run([sys.executable, '-m', 'pylit.translate.status_page', '--site', str(top / 'docs'),
                        '--src', str(src), '--translate_cache', str(cache), '--languages', 'zh'],
                       capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert r.returncode == 0, r.stderr
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                             functools.partial(QuietHandler, directory=str(top / 'docs')))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}/'
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='module')
def page(shared_chromium):
    context = shared_chromium.new_context(viewport={'width': 1000, 'height': 700})
    yield context.new_page()
    context.close()


def test_switcher_keeps_the_anchor_in_the_address(site, page):
    page.goto(site + 'long.html#section-5', wait_until='load')
    page.click('.languages a[hreflang="zh-Hans"]')
    page.wait_for_load_state('load')
    assert page.url.endswith('/zh/long.html#section-5')


def test_switcher_keeps_the_section_being_read(site, page):
    page.goto(site + 'zh/long.html', wait_until='load')
    page.evaluate("document.getElementById('section-6').scrollIntoView()")
    # a click that does not scroll the header into view first (as with a sticky header)
    with page.expect_navigation():
        page.evaluate("document.querySelector('.languages a[hreflang=\"en\"]').click()")
    page.wait_for_load_state('load')
    assert page.url.endswith('/long.html#section-6') and '/zh/' not in page.url


def test_status_page_renders(site, page):
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.goto(site + 'zh/translation-status.html', wait_until='load')
    assert page.locator('h1').inner_text().startswith('翻译进度')
    assert page.locator('tbody tr').count() == 1
    assert 'Note 3' in page.locator('main').inner_text()     # an untranslated chunk, as text
    assert not errors


# ## Sinhala renders (a Sinhala font is installed: scripts/install-browser.sh)

# Letters of the Sinhala block, each its own shape in a real font
SINHALA_LETTERS = 'අආඉකගචජතදනපබමයරලවසහ'
# Code points of the Sinhala block that are not assigned: every font draws them as the same box
UNASSIGNED = '\u0dc7\u0dc8\u0dc9\u0dcb\u0dcc\u0dcd\u0dce'


@pytest.fixture(scope='module')
def sinhala_site(tmp_path_factory):
    """The shipped Sinhala Adam page, built from the real cache without writing it."""
    top = tmp_path_factory.mktemp('si')
    pylit(['--remove_empty_sections', '--title_md', '--languages', 'en,si', '--translate', 'si',
           '--translate_cache', str(REPO / 'translate_cache'), '--no_write_caches',
           '-d', str(top / 'si'), 'optimizers/adam.py'], REPO / 'labml_nn')
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(QuietHandler, directory=str(top)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}/si/optimizers/adam.html'
    server.shutdown()
    server.server_close()


def test_sinhala_page_renders_sinhala_glyphs_and_formulas(sinhala_site, page):
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.goto(sinhala_site, wait_until='load')
    page.evaluate('document.fonts.ready')
    assert page.evaluate('document.documentElement.lang') == 'si'
    text = page.locator('main').inner_text()
    assert sum('\u0d80' <= c <= '\u0dff' for c in text) > 500, 'the page is not in Sinhala'
    # Widths of single letters in the page's own font: a missing font draws every one as the
    # same box (the width of an unassigned code point); a Sinhala font gives them their shapes
    widths = page.evaluate('''([letters, box]) => {
      const probe = document.createElement('span');
      probe.style.whiteSpace = 'pre';
      document.querySelector('main .docs p').appendChild(probe);
      const width = s => { probe.textContent = s; return probe.getBoundingClientRect().width; };
      const out = {letters: [...letters].map(width), boxes: [...box].map(width)};
      probe.remove();
      return out;
    }''', [SINHALA_LETTERS, UNASSIGNED])
    boxes = set(round(w, 2) for w in widths['boxes'])
    letters = [round(w, 2) for w in widths['letters']]
    assert len(boxes) == 1, widths                    # unassigned code points: all the same box
    assert len(set(letters)) >= 4, widths             # letters: many shapes
    assert sum(w in boxes for w in letters) <= 2, widths
    # The font Chromium chose for a Sinhala paragraph holds Sinhala glyphs
    client = page.context.new_cdp_session(page)
    client.send('DOM.enable')
    client.send('CSS.enable')
    doc = client.send('DOM.getDocument', {'depth': -1})
    node = client.send('DOM.querySelector', {'nodeId': doc['root']['nodeId'], 'selector': 'main .docs h1'})
    fonts = client.send('CSS.getPlatformFontsForNode', {'nodeId': node['nodeId']})['fonts']
    families = subprocess.run(['fc-list', ':lang=si', 'family'], capture_output=True, text=True).stdout
    assert any(f['glyphCount'] > 0 and f['familyName'] in families for f in fonts), (fonts, families)
    # Formulas are typeset by KaTeX, none failed
    assert page.locator('main .katex').count() > 10
    assert page.locator('main .math-error').count() == 0
    assert 'KaTeX_' in page.eval_on_selector('main .katex .katex-html', 'e => getComputedStyle(e.querySelector(".mord") || e).fontFamily')
    assert page.evaluate("document.fonts.check('16px KaTeX_Main')")
    assert not errors
