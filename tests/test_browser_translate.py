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
def page():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=['--no-sandbox', '--disable-gpu'])
        context = b.new_context(viewport={'width': 1000, 'height': 700})
        yield context.new_page()
        b.close()


def test_switcher_keeps_the_anchor_in_the_address(site, page):
    page.goto(site + 'long.html#section-5', wait_until='load')
    page.click('.languages a[hreflang="zh"]')
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
