"""
A generator that never falls over: each fault found by trying the site as an attacker would,
reproduced on a small tree; one bad module costs only its own page, with one clear line.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pylit.build import BuildOptions, build

REPO = Path(__file__).resolve().parent.parent

GOOD = '"""\n---\ntitle: Good\nsummary: A good page.\n---\n\n# Good\n\nSee $x_1$.\n"""\nx = 1\n'
HOME = '"""\n---\ntitle: Home\n---\n\n# Home\n"""\n'


def run(root: Path, out: Path, **kw):
    opts = BuildOptions(out_dir=out, paths=tuple(sorted(os.listdir(root))), root=root,
                        jobs=kw.pop('jobs', 1), **kw)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return build(opts)
    finally:
        os.chdir(cwd)


def errors(report) -> list[str]:
    return [str(e) for e in report.errors]


def test_deeply_nested_list_is_an_error_for_that_page_alone(write_tree, tmp_path):
    nested = ''.join('    ' * i + '* item\n' for i in range(300))
    root = write_tree({'__init__.py': HOME, 'good.py': GOOD, 'nested.py': f'"""\n# Nested\n\n{nested}"""\n'})
    report = run(root, tmp_path / 'out')
    assert errors(report) == ['nested.py: error: lists nest 299 levels deep (the limit is 24); page skipped']
    assert (tmp_path / 'out/good.html').exists() and not (tmp_path / 'out/nested.html').exists()
    assert report.exit_status(strict=False) == 1


def test_recursion_in_a_worker_costs_only_its_page(write_tree, tmp_path, monkeypatch):
    # Without the input check, Python-Markdown recurses past the limit on 300 nested lists
    import pylit.render
    monkeypatch.setattr(pylit.render, 'check_notes', lambda text: None)
    nested = ''.join('    ' * i + '* item\n' for i in range(300))
    root = write_tree({'__init__.py': HOME, 'good.py': GOOD, 'nested.py': f'"""\n# Nested\n\n{nested}"""\n'})
    sys_limit = sys.getrecursionlimit()
    report = run(root, tmp_path / 'out')
    assert sys.getrecursionlimit() == sys_limit
    assert len(report.errors) == 1 and report.errors[0].path == 'nested.py'
    assert 'nests too deeply (RecursionError)' in report.errors[0].message
    assert (tmp_path / 'out/good.html').exists()


def test_yaml_alias_bomb_is_refused_at_its_source_line(write_tree, tmp_path):
    bomb = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
            + ''.join(f'{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n'
                      for p, c in zip('abcdefgh', 'bcdefghi')))
    assert len(bomb.encode()) < 600
    root = write_tree({'__init__.py': HOME, 'good.py': GOOD, 'bomb.py': f'"""\n---\n{bomb}---\n# Bomb\n"""\n'})
    report = run(root, tmp_path / 'out')
    # The first alias is on the YAML's second line, the file's fourth
    assert errors(report) == ['bomb.py:4: error: front matter is not valid YAML: aliases (*name) are not allowed '
                              'in front matter; write the value out; page skipped']
    assert (tmp_path / 'out/good.html').exists()


def test_front_matter_error_points_at_the_source_line(write_tree, tmp_path):
    src = '# A comment\n"""\n---\ntitle: Fine\nsummary: [unclosed\n---\n# Oops\n"""\n'
    root = write_tree({'bad.py': src, 'good.py': GOOD})
    report = run(root, tmp_path / 'out')
    assert len(report.errors) == 1
    e = report.errors[0]
    # YAML notices the missing `]` at the end of its block, the line of the closing `---`
    assert (e.path, e.line) == ('bad.py', 6), str(e)
    assert src.split('\n')[e.line - 1] == '---'
    # A block that is not a mapping points at its first line
    root2 = write_tree({'list.py': '\n\n"""\n---\n- a\n- b\n---\n"""\n'}, name='src2')
    report = run(root2, tmp_path / 'out2')
    assert errors(report) == ['list.py:5: error: front matter must be a YAML mapping (title: ..., summary: ...); page skipped']


def test_nested_brackets_are_refused_quickly(write_tree, tmp_path):
    root = write_tree({'good.py': GOOD, 'brackets.py': '"""\n# Brackets\n\n' + '[' * 40_000 + '\n"""\n'})
    report = run(root, tmp_path / 'out')
    assert errors(report) == ['brackets.py: error: a paragraph opens 40000 `[` without closing them '
                              '(the limit is 64); page skipped']
    assert (tmp_path / 'out/good.html').exists()


def test_a_page_that_takes_too_long_is_stopped(write_tree, tmp_path, monkeypatch):
    # Without the input check, 40 KB of `[` keeps Python-Markdown busy for about a minute
    import pylit.render
    monkeypatch.setattr(pylit.render, 'check_notes', lambda text: None)
    root = write_tree({'good.py': GOOD, 'brackets.py': '"""\n# Brackets\n\n' + '[' * 40_000 + '\n"""\n'})
    report = run(root, tmp_path / "out", page_timeout=5.0, jobs=2)
    assert errors(report) == ['brackets.py: error: cannot render the page: it took longer than 5 s to render; page skipped']
    assert (tmp_path / 'out/good.html').exists()


def test_two_modules_for_one_page_are_one_clear_error(write_tree, tmp_path):
    root = write_tree({'x/__init__.py': '"""\n# X index\n"""\n', 'x/index.py': '"""\n# X module\n"""\n', 'good.py': GOOD})
    report = run(root, tmp_path / 'out', title_md=True)
    assert errors(report) == ['x/index.py: error: becomes the page x/index.html, like x/__init__.py; '
                              'rename one of them (page skipped)']
    assert '<title>X index</title>' in (tmp_path / 'out/x/index.html').read_text()


def test_page_urls_are_percent_encoded_and_checked(write_tree, tmp_path):
    links = '"""\n# Links\n\n[a](with%20space.html) [b](a%23b.html#section-0) [c](100%25.html)\n"""\n'
    root = write_tree({'__init__.py': HOME, 'with space.py': GOOD, 'a#b.py': GOOD, '100%.py': GOOD, 'links.py': links})
    out = tmp_path / 'out'
    report = run(root, out, site_url='https://example.org', languages=('en', 'zh'))
    assert report.diagnostics == [], [str(d) for d in report.diagnostics]
    assert report.exit_status(strict=True) == 0
    page = (out / 'with space.html').read_text()
    assert '<link rel="canonical" href="https://example.org/with%20space.html">' in page
    assert 'hreflang="zh-Hans" href="https://example.org/zh/with%20space.html"' in page
    home = (out / 'index.html').read_text()
    for href in ('with%20space.html', 'a%23b.html', '100%25.html'):
        assert f'href="{href}"' in home
    assert 'href="with space.html"' not in home and 'href="a#b.html"' not in home
    # A raw link that does not exist still warns
    (root / 'links.py').write_text(links.replace('100%25.html', 'nope%20page.html'))
    report = run(root, out)
    assert [d.message for d in report.warnings] == ["broken link 'nope%20page.html': no page nope page.html was built"]


def test_sitemap_entries_are_percent_encoded(write_tree, tmp_path):
    sys.path.insert(0, str(REPO / 'utils'))
    import sitemap
    root = write_tree({'__init__.py': HOME, 'with space.py': GOOD})
    out = tmp_path / 'out'
    run(root, out)
    text = sitemap.make_sitemap(out, 'https://example.org', root, None)
    assert 'https://example.org/with%20space.html' in text and 'with space' not in text


def test_stale_temporary_files_are_removed_by_the_next_build(write_tree, tmp_path):
    root = write_tree({'good.py': GOOD})
    out = tmp_path / 'out'
    run(root, out)
    # What `kill -9` between write and rename leaves behind
    stale = [out / '.good.html.k2j4l5m6.tmp', out / 'static' / '.site.css.abcdefgh.tmp']
    for p in stale:
        p.write_text('half a page')
    keep = out / 'notes.tmp'
    keep.write_text('not ours')
    run(root, out)
    assert not any(p.exists() for p in stale) and keep.exists()


def _children(pid: int) -> list[int]:
    found = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                stat = Path(f'/proc/{d}/stat').read_text()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                found.append(int(d))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return False
    return stat.rsplit(')', 1)[1].split()[0] != 'Z'


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc')
def test_kill_9_of_a_build_leaves_no_workers(write_tree, tmp_path):
    root = write_tree({'good.py': GOOD, 'slow.py': '"""\n# Slow\n\n' + '[' * 40_000 + '\n"""\n'})
    script = ('import os, sys, pylit.render\n'
              'pylit.render.check_notes = lambda text: None\n'
              'from pylit.build import BuildOptions, build\n'
              f'build(BuildOptions(out_dir={str(tmp_path / "out")!r}, paths=("good.py", "slow.py"), jobs=2))\n')
    proc = subprocess.Popen([sys.executable, '-c', script], cwd=root, env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        workers = []
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            workers = [c for c in _children(proc.pid) if 'python' in Path(f'/proc/{c}/cmdline').read_text(errors='replace')]
        assert len(workers) == 2, 'the build did not start its workers'
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 30
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_untrusted_formula_commands_are_warnings(write_tree, tmp_path):
    src = 'r"""\n# Links in math\n\nSee $\\href{https://x.org}{x}$ and\n$\\url{https://x.org}$, $\\includegraphics{a.png}$.\n"""\n'
    root = write_tree({'m.py': src})
    report = run(root, tmp_path / 'out')
    assert report.errors == []
    messages = sorted(str(w) for w in report.warnings)
    assert len(messages) == 3, messages
    assert messages[0].startswith("m.py:4: warning: formula '\\\\href{https://x.org}{x}' uses \\href")
    assert report.exit_status(strict=True) == 1


def test_symlink_outside_the_root_is_a_warning_for_that_file(write_tree, tmp_path):
    outside = tmp_path / 'elsewhere.py'
    outside.write_text(GOOD)
    root = write_tree({'good.py': GOOD, 'pkg/inner.py': GOOD})
    (root / 'pkg' / 'link.py').symlink_to(outside)
    report = run(root, tmp_path / 'out')
    assert report.errors == []
    assert [str(w) for w in report.warnings] == [
        f'pkg/link.py: warning: links to {outside.resolve()}, outside the source root {root.resolve()}; '
        f'skipped (copy the file into the tree instead)']
    assert (tmp_path / 'out/pkg/inner.html').exists() and (tmp_path / 'out/good.html').exists()


def test_unwritable_output_is_one_line(write_tree, tmp_path):
    root = write_tree({'good.py': GOOD})
    (tmp_path / 'file').write_text('x')
    proc = subprocess.run([sys.executable, '-m', 'pylit', '-d', str(tmp_path / 'file' / 'site'), '.'],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == f'pylit: error: -d {tmp_path / "file" / "site"}: {tmp_path / "file"} is a file, not a folder; pass a folder you can write to\n'


# ## The preview server

@pytest.fixture
def server(write_tree, tmp_path):
    from pylit import serve
    root = write_tree({'__init__.py': HOME, 'good.py': GOOD})
    docs = tmp_path / 'docs'
    run(root, docs)
    srv = serve.make_server(docs, 0, serve.Hub())
    thread = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _request(srv, method: str, path: str):
    conn = http.client.HTTPConnection('127.0.0.1', srv.server_address[1], timeout=30)
    conn.request(method, path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), body


def test_server_answers_a_nul_byte_path(server, capfd):
    status, _, _ = _request(server, 'GET', '/index.html%00.txt')
    assert status in (400, 404)
    status, _, _ = _request(server, 'GET', '/static/site.css%00')
    assert status in (400, 404)
    assert 'Traceback' not in capfd.readouterr().err
    # The server still serves
    assert _request(server, 'GET', '/good.html')[0] == 200


def test_head_content_length_matches_get(server):
    for path in ('/good.html', '/', '/static/site.css'):
        g_status, g_headers, g_body = _request(server, 'GET', path)
        h_status, h_headers, h_body = _request(server, 'HEAD', path)
        assert g_status == h_status == 200
        assert int(h_headers['Content-Length']) == len(g_body) and h_body == b''


def test_listen_backlog_holds_200_clients(server):
    assert server.request_queue_size >= 200


# ## The bounded workers themselves

def _allocate(n: int) -> int:
    return len(bytearray(n))


def _recurse(n: int) -> int:
    return _recurse(n + 1)


def test_workers_bound_memory_and_recursion():
    from pylit.pool import Failure, run_bounded
    results = run_bounded(_allocate, [1000, 4 << 30, 2000, 0], jobs=2, timeout=60, memory=256 << 20)
    assert results[0] == 1000 and results[2] == 2000 and results[3] == 0
    assert results[1] == Failure('it needs more than 256 MB of memory')
    results = run_bounded(_recurse, [0], jobs=1)
    assert isinstance(results[0], Failure) and 'RecursionError' in results[0].reason


def test_cli_builds_every_language_in_one_run(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'good.py': GOOD})
    out = tmp_path / 'site'
    proc = subprocess.run([sys.executable, '-m', 'pylit', '--strict', '--languages', 'en,zh,ja',
                           '--translate_cache', str(tmp_path / 'cache'), '-d', str(out), '.'],
                          cwd=root, capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert 'pylit: 2 pages built (en 2, zh 2, ja 2), 0 unchanged' in proc.stderr
    assert (out / 'good.html').exists() and (out / 'zh/good.html').exists() and (out / 'ja/good.html').exists()
    assert (tmp_path / 'cache/good.ja.json').exists()
    proc = subprocess.run([sys.executable, '-m', 'pylit', '--languages', 'en,z h', '-d', str(out), '.'],
                          cwd=root, capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert proc.returncode == 2
    assert proc.stderr == "pylit: error: --languages en,z h: 'z h' is not a language code (such as en,zh,ja)\n"


def test_preview_builds_every_language_in_one_run(write_tree, tmp_path):
    from pylit import serve
    root = write_tree({'__init__.py': HOME, 'good.py': GOOD})
    cache = tmp_path / 'cache'
    cache.mkdir()
    docs = tmp_path / 'docs'
    logs = []
    builder = serve.Builder(root, docs, ['--title_md', '--languages', 'en,zh'], cache, serve.Hub(), log=logs.append)
    assert builder.build()
    assert (docs / 'good.html').exists() and (docs / 'zh' / 'good.html').exists()
    assert any(line.startswith('pylit.serve: built all in ') for line in logs), logs


def test_server_gzips_text_for_clients_that_accept_it(server):
    import gzip
    for path in ('/good.html', '/static/site.css'):
        _, plain_headers, plain = _request(server, 'GET', path)
        assert 'Content-Encoding' not in plain_headers
        conn = http.client.HTTPConnection('127.0.0.1', server.server_address[1], timeout=30)
        conn.request('GET', path, headers={'Accept-Encoding': 'br;q=1.0, gzip;q=0.8'})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        assert r.getheader('Content-Encoding') == 'gzip' and int(r.getheader('Content-Length')) == len(body)
        assert gzip.decompress(body) == plain and len(body) < len(plain)
    from pylit.serve import accepts_gzip
    assert accepts_gzip('gzip, deflate') and accepts_gzip('*') and not accepts_gzip('gzip;q=0') and not accepts_gzip(None)
    assert not accepts_gzip('br, identity')
