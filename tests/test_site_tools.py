"""
The tools around the built site: the home page's contents, `sitemap.xml`, `papers.json`, the
Pagefind index and the live-preview dev server (without a browser; `test_browser_site.py`
drives them in Chromium). Each test builds a small tree of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pylit.build import BuildOptions, build
from pylit.translate.site import TranslatorFactory

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'utils'))
import papers  # noqa: E402
import search  # noqa: E402
import sitemap  # noqa: E402

HOME = '''"""
---
title: Test home
summary: The home of the test site.
---

# Test home
"""
'''

OPT_INDEX = '''"""
---
title: Optimizers
summary: Every optimizer of the test site.
---

# Optimizers

See [Adam](https://arxiv.org/abs/1412.6980v9).
"""
'''

ADAM = '''"""
---
title: Adam
summary: Adaptive moments, for the tests.
---

# Adam

[Adam: A Method for Stochastic Optimization](https://arxiv.org/pdf/1412.6980.pdf) and
[an old one](http://arxiv.org/abs/cs/0112017v1).
"""

def step(x):
    # $x \\leftarrow x - \\eta g$
    return x
'''

NOTES = '''"""
# Loose notes

No front matter here; [Sophia](https://arxiv.org/abs/2305.14342) and a link that is not a paper:
[PyTorch](https://pytorch.org).
"""
'''


def tree(write_tree) -> Path:
    return write_tree({'__init__.py': HOME, 'optimizers/__init__.py': OPT_INDEX,
                       'optimizers/adam.py': ADAM, 'misc/notes.py': NOTES})


def run(root: Path, out: Path, lang: str = 'en', cache: Path | None = None):
    paths = tuple(sorted(n for n in os.listdir(root) if not n.startswith('.')))
    opts = BuildOptions(out_dir=out, paths=paths, root=root, jobs=1, remove_empty_sections=True,
                        title_md=True, lang=lang, translate_cache=cache, languages=('en', 'zh'),
                        site_url='https://example.org')
    cwd = os.getcwd()
    os.chdir(root)
    try:
        report = build(opts, TranslatorFactory if lang != 'en' else None)
    finally:
        os.chdir(cwd)
    assert not report.errors, report.errors
    return report


# ## The home page lists every section and tutorial

def contents(html: str) -> str:
    m = re.search(r'<nav class="site-index".*?</nav>', html, re.S)
    assert m, 'the home page has no contents'
    return m.group(0)


def test_home_page_lists_every_page_with_its_summary(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'site'
    run(root, out)
    index = contents((out / 'index.html').read_text())
    assert '<a href="optimizers/index.html">Optimizers</a>' in index
    assert 'Every optimizer of the test site.' in index
    assert '<a href="optimizers/adam.html">Adam</a>' in index
    assert 'Adaptive moments, for the tests.' in index
    # A folder without an index page gets a plain heading; a page without front matter its # title
    assert '<h3 class="index-title">Misc</h3>' in index
    assert '<a href="misc/notes.html">Loose notes</a>' in index
    # The home page does not list itself, and the other pages have no contents
    assert 'href="index.html"' not in index
    assert 'class="site-index"' not in (out / 'optimizers' / 'adam.html').read_text()
    # A new module appears on the next (incremental) build without touching the home page's source
    (root / 'optimizers' / 'sophia.py').write_text('"""\n---\ntitle: Sophia\nsummary: Clipped Newton steps.\n---\n"""\nx = 1\n')
    report = run(root, out)
    # (the pages of its chapter show it in their contents, so they are rebuilt; other chapters are not)
    assert 'optimizers/sophia.py' in report.built and 'optimizers/adam.py' in report.built
    assert 'misc/notes.py' in report.skipped
    index = contents((out / 'index.html').read_text())
    assert '<a href="optimizers/sophia.html">Sophia</a>' in index and 'Clipped Newton steps.' in index


def test_pages_carry_the_reading_features_but_no_dev_server_code(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'site'
    run(root, out)
    page = (out / 'optimizers' / 'adam.html').read_text()
    assert '<div class="search" role="search" hidden data-site-root="../"' in page
    assert '<button class="theme-toggle" type="button" hidden' in page
    assert '<pre class="highlight" tabindex="0">' in page
    assert '<script src="../static/site.js" async></script>' in page
    assert page.index("localStorage.getItem('pylit-theme')") < page.index('rel="stylesheet"')
    assert '__pylit' not in page
    assert (out / 'static' / 'site.js').read_text() == (REPO / 'pylit' / 'static' / 'site.js').read_text()


# ## sitemap.xml

NS = {'s': 'http://www.sitemaps.org/schemas/sitemap/0.9', 'x': 'http://www.w3.org/1999/xhtml'}


def parse_sitemap(text: str) -> dict[str, dict]:
    root = ET.fromstring(text)
    found = {}
    for url in root.findall('s:url', NS):
        loc = url.find('s:loc', NS).text
        found[loc] = {'lastmod': url.find('s:lastmod', NS).text,
                      'alternates': {a.get('hreflang'): a.get('href') for a in url.findall('x:link', NS)}}
    return found


def set_mtime(path: Path, when: str):
    t = dt.datetime.fromisoformat(when).timestamp()
    os.utime(path, (t, t))


def test_sitemap_outside_git_uses_file_times_for_every_language(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'site'
    cache = tmp_path / 'cache'
    cache.mkdir()
    run(root, out)
    run(root, out / 'zh', 'zh', cache)
    for p in [*root.rglob('*.py'), *cache.rglob('*.json')]:
        set_mtime(p, '2024-01-02T03:04:05+00:00')
    # The Chinese Adam page's translation changed later than its source
    set_mtime(cache / 'optimizers' / 'adam.zh.json', '2024-05-06T07:08:09+00:00')
    r = subprocess.run([sys.executable, str(REPO / 'utils' / 'sitemap.py'), '--site', str(out), '--site_url',
                        'https://example.org/', '--source', str(root), '--translate_cache', str(cache)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    urls = parse_sitemap((out / 'sitemap.xml').read_text())
    pages = ['index.html', 'misc/notes.html', 'optimizers/adam.html', 'optimizers/index.html']
    assert set(urls) == {f'https://example.org/{p}' for p in pages} | {f'https://example.org/zh/{p}' for p in pages}
    assert urls['https://example.org/optimizers/adam.html']['lastmod'] == '2024-01-02T03:04:05+00:00'
    assert urls['https://example.org/zh/optimizers/adam.html']['lastmod'] == '2024-05-06T07:08:09+00:00'
    assert urls['https://example.org/zh/index.html']['lastmod'] == '2024-01-02T03:04:05+00:00'
    assert urls['https://example.org/misc/notes.html']['alternates'] == {
        'en': 'https://example.org/misc/notes.html', 'zh-Hans': 'https://example.org/zh/misc/notes.html'}
    # The canonical URL of a page is its <loc>
    assert '<link rel="canonical" href="https://example.org/zh/optimizers/adam.html">' in \
        (out / 'zh' / 'optimizers' / 'adam.html').read_text()


def git(cwd: Path, *args: str, date: str | None = None):
    env = {**os.environ, 'GIT_AUTHOR_NAME': 't', 'GIT_AUTHOR_EMAIL': 't@example.org',
           'GIT_COMMITTER_NAME': 't', 'GIT_COMMITTER_EMAIL': 't@example.org'}
    if date:
        env['GIT_COMMITTER_DATE'] = env['GIT_AUTHOR_DATE'] = date
    subprocess.run(['git', *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_sitemap_takes_lastmod_from_git_history(write_tree, tmp_path):
    root = tree(write_tree)
    git(root, 'init', '-q')
    git(root, 'add', '.')
    git(root, 'commit', '-q', '-m', 'first', date='2023-03-04T05:06:07+00:00')
    (root / 'optimizers' / 'adam.py').write_text(ADAM + '\n# more\n')
    git(root, 'commit', '-q', '-am', 'second', date='2023-08-09T10:11:12+00:00')
    out = tmp_path / 'site'
    run(root, out)
    for p in root.rglob('*.py'):
        set_mtime(p, '2030-01-01T00:00:00+00:00')
    text = sitemap.make_sitemap(out, 'https://example.org', root, None)
    urls = parse_sitemap(text)
    assert urls['https://example.org/optimizers/adam.html']['lastmod'] == '2023-08-09T10:11:12+00:00'
    assert urls['https://example.org/optimizers/index.html']['lastmod'] == '2023-03-04T05:06:07+00:00'
    # A source with uncommitted changes is newer than its last commit: its file time counts
    (root / 'misc' / 'notes.py').write_text(NOTES + '\n')
    set_mtime(root / 'misc' / 'notes.py', '2031-02-03T04:05:06+00:00')
    urls = parse_sitemap(sitemap.make_sitemap(out, 'https://example.org', root, None))
    assert urls['https://example.org/misc/notes.html']['lastmod'] == '2031-02-03T04:05:06+00:00'
    assert urls['https://example.org/optimizers/adam.html']['lastmod'] == '2023-08-09T10:11:12+00:00'


def test_sitemap_errors_are_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / 'utils' / 'sitemap.py'), '--site', str(tmp_path),
                        '--site_url', 'https://example.org'], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.count('\n') == 1 and '.pylit-manifest.json' in r.stderr and 'make docs' in r.stderr
    assert not (tmp_path / 'sitemap.xml').exists()
    r = subprocess.run([sys.executable, str(REPO / 'utils' / 'sitemap.py'), '--site', str(tmp_path),
                        '--site_url', 'example.org'], capture_output=True, text=True)
    assert r.returncode == 2 and 'absolute' in r.stderr


# ## papers.json

@pytest.mark.parametrize('path,expected', [
    ('2305.14342', '2305.14342'),
    ('2305.14342v3', '2305.14342'),
    ('1412.6980.pdf', '1412.6980'),
    ('1412.6980v9.pdf', '1412.6980'),
    ('cs/0112017v1', 'cs/0112017'),
    ('math.GT/0309136', 'math.GT/0309136'),
    ('list/cs.LG', None),
    ('', None),
])
def test_arxiv_ids_are_normalised(path, expected):
    assert papers.arxiv_id(path) == expected


def test_papers_map_each_arxiv_id_to_the_pages_citing_it(write_tree, tmp_path):
    root = tree(write_tree)
    # The home page links a paper too, but it is a table of contents, not an implementation
    (root / '__init__.py').write_text(HOME.replace('# Test home', '# Test home\n\n[Sophia](https://arxiv.org/abs/2305.14342)'))
    out = tmp_path / 'site'
    run(root, out)
    r = subprocess.run([sys.executable, str(REPO / 'utils' / 'papers.py'), '--site', str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / 'papers.json').read_text()) == {
        '1412.6980': [{'page': 'optimizers/adam.html', 'title': 'Adam'},
                      {'page': 'optimizers/index.html', 'title': 'Optimizers'}],
        '2305.14342': [{'page': 'misc/notes.html', 'title': 'Loose notes'}],
        'cs/0112017': [{'page': 'optimizers/adam.html', 'title': 'Adam'}],
    }


def test_papers_needs_a_built_site(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / 'utils' / 'papers.py'), '--site', str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count('\n') == 1 and 'make docs' in r.stderr


# ## The Pagefind index

def test_search_index_has_one_index_per_language(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'site'
    cache = tmp_path / 'cache'
    cache.mkdir()
    run(root, out)
    run(root, out / 'zh', 'zh', cache)
    search.build_index(out)
    entry = json.loads((out / 'pagefind' / 'pagefind-entry.json').read_text())
    # one index per <html lang> (zh pages are zh-Hans: pylit/languages.py)
    assert set(entry['languages']) == {'en', 'zh-hans'}
    assert entry['languages']['en']['page_count'] == 4 and entry['languages']['zh-hans']['page_count'] == 4
    assert not (out / '.pagefind.tmp').exists() and not (out / '.pagefind.old').exists()
    # Running again replaces the index in place
    search.build_index(out)
    assert (out / 'pagefind' / 'pagefind.js').is_file()


def test_search_index_needs_pages(tmp_path):
    with pytest.raises(search.SearchError, match='build the site first'):
        search.build_index(tmp_path)


# ## The live-preview server

from pylit import serve  # noqa: E402


def test_reload_script_is_added_only_when_serving():
    page = b'<html><body><p>x</p></body></html>'
    tag = b'<script src="/__pylit/reload.js" data-pylit-server="s1"></script>'
    assert serve.inject(page, 's1') == b'<html><body><p>x</p>' + tag + b'</body></html>'
    assert serve.inject(b'<p>no body', 's1') == b'<p>no body' + tag


def test_languages_come_from_the_pylit_flags():
    assert serve.languages_of(['--title_md', '--languages', 'en,zh,ja']) == ['en', 'zh', 'ja']
    assert serve.languages_of(['--languages=en,ja']) == ['en', 'ja']
    assert serve.languages_of(['--title_md']) == ['en']
    # the default languages come from the cache folder: tests/test_translate_frame.py


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.headers.get('Content-Type', ''), r.read()


def test_dev_server_serves_on_loopback_and_reports_rebuilt_pages(write_tree, tmp_path):
    root = tree(write_tree)
    docs = tmp_path / 'docs'
    hub = serve.Hub()
    messages = []
    q = hub.connect()
    builder = serve.Builder(root, docs, ['--remove_empty_sections', '--title_md'], None, hub, log=lambda m: None)
    assert builder.build()
    while not q.empty():
        messages.append(q.get())
    assert messages[0]['type'] == 'reload' and '/optimizers/adam.html' in messages[0]['paths']
    assert messages[-1] == {'type': 'ok'}

    server = serve.make_server(docs, 0, hub)
    assert server.server_address[0] == '127.0.0.1'
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f'http://127.0.0.1:{server.server_address[1]}'
    try:
        status, ctype, body = get(base + '/optimizers/adam.html')
        assert status == 200 and ctype.startswith('text/html')
        assert body.endswith(f'<script src="/__pylit/reload.js" data-pylit-server="{hub.server_id}"></script></body>\n</html>\n'.encode())
        assert b'__pylit' not in (docs / 'optimizers' / 'adam.html').read_bytes()
        assert get(base + '/')[2] == serve.inject((docs / 'index.html').read_bytes(), hub.server_id)
        status, ctype, body = get(base + '/__pylit/reload.js')
        assert ctype.startswith('text/javascript') and b'EventSource' in body
        status, ctype, body = get(base + '/static/site.css')
        assert b'__pylit' not in body

        # Watching: saving a source rebuilds just that page and announces it on the event stream
        stop, ready = threading.Event(), threading.Event()
        watcher = threading.Thread(target=serve.watch, args=(builder, [root], stop, False),
                                   kwargs={'log': lambda m: None, 'ready': ready}, daemon=True)
        watcher.start()
        assert ready.wait(60), 'the watcher did not start'
        events = urllib.request.urlopen(base + '/__pylit/events', timeout=60)
        received = queue.Queue()

        def read_events():
            for line in events:
                line = line.decode()
                if line.startswith('data: '):
                    m = json.loads(line[len('data: '):])
                    if m['type'] == 'test-end':
                        return
                    received.put(m)
        reader = threading.Thread(target=read_events, daemon=True)
        reader.start()

        def next_of(kind: str) -> dict:
            while True:
                m = received.get(timeout=60)
                if m['type'] == kind:
                    return m
        hello = next_of('hello')
        assert hello['error'] is None
        adam = root / 'optimizers' / 'adam.py'
        adam.write_text(ADAM.replace('# Adam\n', '# Adam\n\nA new sentence.\n'))
        reload = next_of('reload')
        # (the page, its notebook, and the copy of its module that its source link points to)
        assert reload['paths'] == ['/optimizers/adam.html', '/optimizers/adam.ipynb', '/optimizers/adam.py'] \
            and not reload['all']
        assert 'A new sentence.' in (docs / 'optimizers' / 'adam.html').read_text()
        # A source that does not parse: an error message naming the file
        adam.write_text('def broken(:\n')
        assert 'optimizers/adam.py' in next_of('error')['text']
        stop.set()
        hub.send({'type': 'test-end'})
        reader.join(60)
        events.close()
    finally:
        server.shutdown()
        server.server_close()


def test_dev_server_refuses_a_busy_port(tmp_path, write_tree):
    root = tree(write_tree)
    hub = serve.Hub()
    first = serve.make_server(tmp_path, 0, hub)
    try:
        port = first.server_address[1]
        r = subprocess.run([sys.executable, '-m', 'pylit.serve', '--no-build', '--port', str(port),
                            '--source', str(root), '--docs', str(tmp_path / 'docs')],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2
        assert r.stderr.count('\n') == 1 and f'127.0.0.1:{port}' in r.stderr and '--port' in r.stderr
    finally:
        first.server_close()
