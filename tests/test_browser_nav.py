"""
The navigation of a large site in a real browser (Debian's headless Chromium through Playwright):
the chapter's contents as a sidebar on a desktop and as a collapsed drawer on a phone, the
previous/next links, the home page by chapter, and the notebook download. A small tree of two
chapters is built here, in English and Chinese in one run, and served on 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip('/usr/bin/chromium is not installed (make browser installs it)', allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


def page_src(title: str, year: int, extra: str = '') -> str:
    return (f'"""\n---\ntitle: {title}\nsummary: The {title} page.\nyear: {year}\n---\n\n# {title}\n\n'
            f'It computes $x_{{{year}}}$.\n"""\n\nimport math\n\n\n# Square it\ndef f(x):\n    return x * x{extra}\n')


FILES = {
    '__init__.py': '"""\n---\ntitle: Papers\nsummary: Home.\n---\n\n# Papers\n\n* [Optimizers](optim/index.html)\n"""\n',
    'optim/__init__.py': ('"""\n---\ntitle: Optimizers\nsummary: Every optimizer.\n---\n\n# Optimizers\n\n'
                          '* [Adam](adam.html)\n* [Sophia](sophia.html)\n* [Lion](lion.html)\n"""\n'),
    'optim/adam.py': page_src('Adam', 2014),
    'optim/sophia.py': page_src('Sophia', 2023),
    'optim/lion.py': page_src('Lion', 2023),
    'norm/__init__.py': '"""\n---\ntitle: Normalization\nsummary: Layers that normalize.\n---\n\n# Normalization\n"""\n',
    'norm/layer_norm.py': page_src('Layer Norm', 2016),
}


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    src = tmp_path_factory.mktemp('nav-src')
    for rel, text in FILES.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    out = tmp_path_factory.mktemp('nav-site') / 'site'
    cache = tmp_path_factory.mktemp('nav-cache')
    r = subprocess.run([sys.executable, '-m', 'pylit', '--title_md', '--strict', '--languages', 'en,zh',
                        '--translate_cache', str(cache), '-d', str(out), *sorted(os.listdir(src))],
                       cwd=src, capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert r.returncode == 0, r.stderr
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(out)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}/'
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='module')
def browser(shared_chromium):
    return shared_chromium


def new_page(browser, width: int, height: int, **kw):
    context = browser.new_context(viewport={'width': width, 'height': height}, **kw)
    page = context.new_page()
    errors = []
    page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
    page.on('pageerror', lambda e: errors.append(str(e)))
    return context, page, errors


def test_desktop_sidebar_and_previous_next(site, browser):
    context, page, errors = new_page(browser, 1280, 900)
    page.goto(site + 'optim/sophia.html', wait_until='load')
    nav = page.locator('nav.chapter-nav')
    body = nav.locator('.chapter-nav-body')
    assert body.is_visible() and not page.locator('.chapter-nav-label').is_visible()
    box = nav.bounding_box()
    assert box['x'] == 0 and box['height'] >= 800
    # The page is beside the sidebar, not under it
    main = page.locator('main.page').bounding_box()
    assert main['x'] >= box['x'] + box['width'] - 1
    assert page.evaluate('document.documentElement.scrollWidth - window.innerWidth') <= 1
    items = body.locator('li a')
    assert items.all_inner_texts() == ['Adam', 'Sophia', 'Lion']
    assert body.locator('a[aria-current="page"]').inner_text() == 'Sophia'
    # Previous and next, in the chapter map's reading order
    assert page.locator('a[rel="prev"]').get_attribute('href') == 'adam.html'
    page.locator('a[rel="next"]').click()
    page.wait_for_url('**/optim/lion.html')
    assert page.locator('a[rel="next"]').count() == 0
    # The sidebar leads anywhere in the chapter
    page.locator('nav.chapter-nav .chapter-nav-body a', has_text='Adam').click()
    page.wait_for_url('**/optim/adam.html')
    assert page.locator('a[rel="prev"]').get_attribute('href') == 'index.html'
    page.screenshot(path=str(REPO / 'test-artifacts' / 'nav-desktop.png')) if (REPO / 'test-artifacts').is_dir() else None
    assert not errors, errors
    context.close()


def test_phone_drawer_is_collapsed_until_opened(site, browser):
    context, page, errors = new_page(browser, 375, 800, has_touch=True, is_mobile=True)
    page.goto(site + 'optim/sophia.html', wait_until='load')
    label = page.locator('.chapter-nav-label')
    body = page.locator('.chapter-nav-body')
    assert label.is_visible() and not body.is_visible()
    assert 'Optimizers' in label.inner_text()
    # The notes start right under the drawer's one line
    assert page.locator('main.page').bounding_box()['y'] < 300
    label.tap()
    assert body.is_visible()
    assert page.evaluate('document.documentElement.scrollWidth - window.innerWidth') <= 1
    body.locator('a', has_text='Lion').tap()
    page.wait_for_url('**/optim/lion.html')
    assert not page.locator('.chapter-nav-body').is_visible()
    # Previous/next stack on a phone and stay on the screen
    prev = page.locator('a[rel="prev"]').bounding_box()
    assert prev['x'] >= 0 and prev['x'] + prev['width'] <= 376
    assert not errors, errors
    context.close()


def test_home_page_by_chapter_in_every_language(site, browser):
    context, page, errors = new_page(browser, 1280, 900)
    for prefix, contents in (('', 'Contents'), ('zh/', '目录')):
        page.goto(site + prefix + 'index.html', wait_until='load')
        assert page.locator('nav.chapter-nav').count() == 0
        groups = page.locator('.site-index .index-group')
        assert groups.locator('h3').all_inner_texts() == ['Optimizers', 'Normalization']
        first = groups.first.locator('li').first
        assert first.locator('a').inner_text() == 'Adam' and first.locator('.year').inner_text() == '2014'
        assert 'The Adam page.' in first.inner_text()
        assert page.locator('#contents-title').inner_text() == contents
    page.goto(site + 'zh/optim/sophia.html', wait_until='load')
    assert page.locator('a[rel="next"] .pager-dir').inner_text() == '下一页'
    assert not errors, errors
    context.close()


def test_notebook_download(site, browser, tmp_path):
    context, page, errors = new_page(browser, 1280, 900, accept_downloads=True)
    for url in ('optim/adam.html', 'zh/optim/adam.html'):
        page.goto(site + url, wait_until='load')
        link = page.locator('a.notebook-link')
        assert link.is_visible()
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.suggested_filename == 'adam.ipynb'
        path = tmp_path / f'{len(url)}.ipynb'
        download.save_as(path)
        nb = json.loads(path.read_text())
        assert nb['nbformat'] == 4
        kinds = [c['cell_type'] for c in nb['cells']]
        assert kinds[0] == 'markdown' and 'code' in kinds
        assert '$x_{2014}$' in ''.join(nb['cells'][0]['source'])
        assert 'def f(x):' in ''.join(c['source'] if isinstance(c['source'], str) else ''.join(c['source'])
                                      for c in nb['cells'] if c['cell_type'] == 'code')
    assert not errors, errors
    context.close()
