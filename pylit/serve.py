"""
# Live preview: a small development server

```
python -m pylit.serve [--port 8000] [--source labml_nn] [--docs docs]
                      [--translate_cache translate_cache] [--no-build] [--poll] [-- PYLIT_FLAGS...]
```

It serves the built site from `--docs` on 127.0.0.1 only, and watches the sources (`--source`,
the translation cache, and pylit's own templates and static files). When a file is saved it runs
the incremental build (the `pylit` command, with the same flags as `make docs`), which rebuilds
only the pages whose inputs changed, and then tells the open browser tabs which pages changed;
a tab showing one of them reloads itself.

The reload works with Server-Sent Events: the server adds one `<script>` tag to each HTML page
*as it sends it*; the built files are never changed. A build that fails shows its error lines in
a banner at the bottom of the page until the next good build.

Without `PYLIT_FLAGS` the pages are built as the Makefile does:
`--remove_empty_sections --title_md --languages en,LANGS --site_url http://127.0.0.1:PORT`, where
LANGS are the languages of `pylit/languages.py` that have caches in `--translate_cache` (zh, ja, si).
Each language other than English is built into `DOCS/<lang>/` from the translation cache.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

HOST = '127.0.0.1'
EVENTS = '/__pylit/events'
CLIENT = '/__pylit/reload.js'
PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent

# The script every served page gets; it never appears in the built files
CLIENT_JS = r"""(function () {
  'use strict';
  var first = null;
  var banner = null;
  function here() {
    var p = decodeURIComponent(location.pathname);
    return p.charAt(p.length - 1) === '/' ? p + 'index.html' : p;
  }
  function show(text) {
    if (!banner) {
      banner = document.createElement('pre');
      banner.className = 'pylit-dev-banner';
      banner.setAttribute('role', 'alert');
      banner.style.cssText = 'position:fixed;left:1rem;right:1rem;bottom:1rem;z-index:50;max-height:40vh;' +
        'overflow:auto;margin:0;padding:.6rem .8rem;font:13px/1.4 monospace;white-space:pre-wrap;' +
        'color:#cf222e;background:#ffebe9;border:1px solid #cf222e;border-radius:6px';
      document.body.appendChild(banner);
    }
    banner.textContent = text;
  }
  function hide() {
    if (banner) { banner.remove(); banner = null; }
  }
  // Connect only when this page came from the preview server that injected this script (its
  // tag carries the server's id), over http; `?nolive` in the address opts out (headless tools
  // waiting for the network to idle, such as `--virtual-time-budget` screenshots)
  var tag = document.currentScript;
  if (!tag || !tag.dataset.pylitServer || !/^https?:$/.test(location.protocol) ||
      /[?&]nolive\b/.test(location.search) || !window.EventSource) return;
  var source = new EventSource('/__pylit/events');
  source.onmessage = function (e) {
    var m;
    try { m = JSON.parse(e.data); } catch (err) { return; }
    if (m.type === 'hello') {
      document.documentElement.dataset.pylitLive = 'connected';
      // A restarted server may have rebuilt anything
      if (first !== null && first !== m.server) location.reload();
      first = m.server;
      if (m.error) show(m.error); else hide();
    } else if (m.type === 'reload') {
      if (m.all || (m.paths || []).indexOf(here()) >= 0) location.reload();
    } else if (m.type === 'error') {
      show(m.text);
    } else if (m.type === 'ok') {
      hide();
    }
  };
})();
"""


def default_pylit_flags(port: int, translate_cache: Path | str = 'translate_cache') -> list[str]:
    """The flags of `make docs`: English and every language of the table with caches in `translate_cache`."""
    from .languages import site_languages
    langs = ','.join(l.code for l in site_languages(translate_cache))
    return ['--remove_empty_sections', '--title_md', '--languages', langs,
            '--site_url', f'http://{HOST}:{port}']


def languages_of(flags: list[str]) -> list[str]:
    """The languages named by `--languages` in the pylit flags (English first)."""
    for i, f in enumerate(flags):
        if f == '--languages' and i + 1 < len(flags):
            value = flags[i + 1]
        elif f.startswith('--languages='):
            value = f.split('=', 1)[1]
        else:
            continue
        return [l for l in value.split(',') if l]
    return ['en']


class Hub:
    """The open event streams; `send` puts a message on every one of them."""

    def __init__(self):
        self._clients: set[queue.Queue] = set()
        self._lock = threading.Lock()
        self.server_id = f'{os.getpid()}-{time.time_ns()}'
        self.last_error: str | None = None

    def connect(self) -> queue.Queue:
        q: queue.Queue = queue.Queue()
        with self._lock:
            self._clients.add(q)
        return q

    def disconnect(self, q: queue.Queue):
        with self._lock:
            self._clients.discard(q)

    def send(self, message: dict):
        with self._lock:
            for q in self._clients:
                q.put(message)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)


class Builder:
    """Runs the incremental builds (every language in one run when there is a translation cache) and reports what changed."""

    def __init__(self, source: Path, docs: Path, flags: list[str], translate_cache: Path | None,
                 hub: Hub, log=print):
        self.source = source
        self.docs = docs
        self.flags = flags
        self.translate_cache = translate_cache
        self.hub = hub
        self.log = log
        self.langs = languages_of(flags)
        self._search_lock = threading.Lock()

    def _snapshot(self) -> dict[str, int]:
        """`{url path: mtime}` of the pages and static files (unchanged files keep their times)."""
        found = {}
        if not self.docs.is_dir():
            return found
        for dirpath, dirnames, filenames in os.walk(self.docs):
            dirnames[:] = [d for d in dirnames if not d.startswith('.') and d != 'pagefind']
            for name in filenames:
                if name.startswith('.'):
                    continue
                p = Path(dirpath) / name
                try:
                    found['/' + p.relative_to(self.docs).as_posix()] = p.stat().st_mtime_ns
                except FileNotFoundError:
                    pass
        return found

    def _entries(self) -> list[str]:
        """What `*` gives inside the source folder."""
        return sorted(n for n in os.listdir(self.source) if not n.startswith('.'))

    def _run(self, lang: str) -> tuple[int, str]:
        out = self.docs if lang in ('en', 'all') else self.docs / lang
        args = [sys.executable, '-m', 'pylit', *self.flags, '-q']
        if lang == 'all':
            # Every language of --languages in one run (English in DOCS, the others in DOCS/<lang>);
            # the preview never writes the caches: new chunks show in English (issue 15)
            args += ['--translate_cache', str(self.translate_cache.resolve()), '--no_write_caches']
        elif lang != 'en':
            args += ['--translate', lang, '--translate_cache', str(self.translate_cache.resolve()), '--no_write_caches']
        args += ['-d', str(out.resolve()), *self._entries()]
        env = dict(os.environ)
        # The pylit being edited is the one that runs
        env['PYTHONPATH'] = os.pathsep.join([str(REPO)] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
        r = subprocess.run(args, cwd=self.source, capture_output=True, text=True, env=env)
        return r.returncode, (r.stdout + r.stderr).strip()

    def build(self) -> bool:
        """Build every language; tell the tabs after each. Returns whether every build succeeded."""
        errors = []
        langs = self.langs if self.langs else ['en']
        if len(langs) > 1 and self.translate_cache is not None and self.translate_cache.is_dir():
            langs = ['all']
        any_changed = False
        for lang in langs:
            if lang != 'en' and (self.translate_cache is None or not self.translate_cache.is_dir()):
                continue
            before = self._snapshot()
            start = time.perf_counter()
            code, output = self._run(lang)
            took = time.perf_counter() - start
            after = self._snapshot()
            changed = sorted(p for p, t in after.items() if before.get(p) != t)
            any_changed = any_changed or bool(changed)
            for line in output.splitlines():
                self.log(f'  [{lang}] {line}')
            pages = [p for p in changed if p.endswith('.html')]
            self.log(f'pylit.serve: built {lang} in {took:.2f}s: {len(pages)} pages changed'
                     + (f' ({", ".join(pages[:5])}{", ..." if len(pages) > 5 else ""})' if pages else ''))
            if code != 0:
                lines = [l for l in output.splitlines() if ': error:' in l or l.startswith('pylit: error')]
                errors.append(f'[{lang}] build failed (exit {code})' + ('\n' + '\n'.join(lines) if lines else ''))
            if changed:
                static = any(p.startswith('/static/') or '/static/' in p for p in changed)
                self.hub.send({'type': 'reload', 'paths': changed, 'all': static})
        if errors:
            self.hub.last_error = '\n'.join(errors)
            self.hub.send({'type': 'error', 'text': self.hub.last_error})
        else:
            self.hub.last_error = None
            self.hub.send({'type': 'ok'})
        if any_changed:
            threading.Thread(target=self._index, daemon=True).start()
        return not errors

    def _index(self):
        """Refresh the search index in the background (the pages are already reloaded)."""
        script = REPO / 'utils' / 'search.py'
        if not script.is_file():
            return
        with self._search_lock:
            r = subprocess.run([sys.executable, str(script), '--site', str(self.docs)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                self.log(f'pylit.serve: search index not refreshed: {r.stderr.strip()}')


def _interesting(path: str) -> bool:
    """Changes worth a rebuild: not caches, not editors' temporary files."""
    parts = Path(path).parts
    name = parts[-1] if parts else ''
    if '__pycache__' in parts or any(p.startswith('.') for p in parts[-1:]):
        return False
    if name.endswith(('~', '.swp', '.swx', '.tmp', '.pyc')) or name.startswith('#'):
        return False
    return True


def watch(builder: Builder, paths: list[Path], stop: threading.Event, poll: bool, log=print,
          ready: threading.Event | None = None):
    """Rebuild on every change under `paths` until `stop` is set; `ready` is set once watching."""
    import watchfiles
    for changes in watchfiles.watch(*[str(p) for p in paths if p.exists()], stop_event=stop,
                                    force_polling=poll or None, debounce=400, step=50,
                                    rust_timeout=300, yield_on_timeout=True, raise_interrupt=False):
        # The first answer, even an empty one after the timeout, means the watches are in place
        if ready is not None:
            ready.set()
        files = sorted({p for _, p in changes if _interesting(p)})
        if not files:
            continue
        shown = ', '.join(os.path.relpath(f) for f in files[:3]) + (' ...' if len(files) > 3 else '')
        log(f'pylit.serve: changed {shown}')
        try:
            builder.build()
        except Exception as e:   # keep watching whatever happens in one build
            log(f'pylit.serve: build crashed: {e}')
            builder.hub.send({'type': 'error', 'text': f'build crashed: {e}'})


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from the site folder, with the reload script added to each HTML page."""

    hub: Hub = None

    def log_message(self, format, *args):
        pass

    def end_headers(self):
        self.send_header('Cache-Control', 'no-store')
        super().end_headers()

    def do_GET(self):
        self._serve(head=False)

    def do_HEAD(self):
        # The same headers as GET (the injected script counts in Content-Length), without the body
        self._serve(head=True)

    def _serve(self, head: bool):
        path = self.path.split('?', 1)[0].split('#', 1)[0]
        if path == EVENTS and not head:
            return self._events()
        if path == CLIENT:
            return self._send(CLIENT_JS.encode(), 'text/javascript; charset=utf-8', head)
        try:
            fs_path = Path(self.translate_path(self.path))
            if fs_path.is_dir() and path.endswith('/'):
                fs_path = fs_path / 'index.html'
            if fs_path.suffix == '.html' and fs_path.is_file():
                return self._send(inject(fs_path.read_bytes(), self.hub.server_id), 'text/html; charset=utf-8', head)
            if accepts_gzip(self.headers.get('Accept-Encoding')) and fs_path.is_file():
                content_type = self.guess_type(str(fs_path))
                if compressible(content_type):
                    return self._send(fs_path.read_bytes(), content_type, head)
        except (ValueError, OSError):
            # A NUL byte (`/index.html%00.txt`), a name too long for the file system, ...
            return self.send_error(400, 'Bad request path')
        try:
            return super().do_HEAD() if head else super().do_GET()
        except (ValueError, OSError) as e:
            if isinstance(e, (BrokenPipeError, ConnectionResetError)):
                return None
            return self.send_error(400, 'Bad request path')

    def _send(self, body: bytes, content_type: str, head: bool = False):
        self.send_response(200)
        self.send_header('Content-Type', content_type)
        # Text is sent gzipped to a client that accepts it, as real hosts do
        self.send_header('Vary', 'Accept-Encoding')
        if accepts_gzip(self.headers.get('Accept-Encoding')):
            body = gzip_bytes(body)
            self.send_header('Content-Encoding', 'gzip')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _events(self):
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Connection', 'keep-alive')
        self.end_headers()
        q = self.hub.connect()
        try:
            hello = {'type': 'hello', 'server': self.hub.server_id, 'error': self.hub.last_error}
            self.wfile.write(f'data: {json.dumps(hello)}\n\n'.encode())
            self.wfile.flush()
            while True:
                try:
                    message = q.get(timeout=15)
                    chunk = f'data: {json.dumps(message)}\n\n'
                except queue.Empty:
                    chunk = ': keep-alive\n\n'
                self.wfile.write(chunk.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            pass
        finally:
            self.hub.disconnect(q)


def compressible(content_type: str) -> bool:
    """Whether the server sends a file of this type gzipped (text; fonts and pictures are compressed already)."""
    kind = content_type.split(';')[0].strip().lower()
    return (kind.startswith('text/') or kind in ('application/javascript', 'application/json', 'application/xml',
                                                  'image/svg+xml') or kind.endswith(('+json', '+xml')))


def accepts_gzip(header: str | None) -> bool:
    """Whether an `Accept-Encoding` header accepts gzip (`gzip`, `gzip;q=0.5`, `*`; not `gzip;q=0`)."""
    if not header:
        return False
    for part in header.split(','):
        name, _, params = part.strip().partition(';')
        if name.strip().lower() not in ('gzip', 'x-gzip', '*'):
            continue
        q = 1.0
        for p in params.split(';'):
            key, _, value = p.strip().partition('=')
            if key.strip().lower() == 'q':
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


@functools.lru_cache(maxsize=64)
def gzip_bytes(body: bytes) -> bytes:
    """`body` gzipped (remembered: the same page is often asked for again)."""
    import gzip
    return gzip.compress(body, compresslevel=6, mtime=0)


def inject(page: bytes, server_id: str = 'preview') -> bytes:
    """The page with the reload script before its last `</body>` (or at the end)."""
    tag = f'<script src="{CLIENT}" data-pylit-server="{server_id}"></script>'.encode()
    i = page.rfind(b'</body>')
    return page[:i] + tag + page[i:] if i >= 0 else page + tag


class Server(http.server.ThreadingHTTPServer):
    # Every open tab holds one live-reload connection, and they all reconnect at once when the
    # server restarts: a backlog of 5 would make most of 200 tabs wait for a retry
    request_queue_size = 1024


def make_server(docs: Path, port: int, hub: Hub) -> http.server.ThreadingHTTPServer:
    handler = type('BoundHandler', (Handler,), {'hub': hub})
    server = Server((HOST, port), functools.partial(handler, directory=str(docs)))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m pylit.serve',
                                description='Serve the site on 127.0.0.1 and rebuild and reload pages as their sources change.')
    p.add_argument('--port', type=int, default=int(os.environ.get('PORT', 8000)), help='port (default: 8000)')
    p.add_argument('--source', default='labml_nn', help='the source root (default: labml_nn)')
    p.add_argument('--docs', default='docs', help='the built site (default: docs)')
    p.add_argument('--translate_cache', default='translate_cache', help='translation cache folder (default: translate_cache)')
    p.add_argument('--no-build', action='store_true', help='do not build when starting')
    p.add_argument('--poll', action='store_true', help='poll for changes (for file systems without change events)')
    p.add_argument('pylit_flags', nargs='*', metavar='-- PYLIT_FLAGS',
                   help='flags for every pylit build (default: those of make docs)')
    args = p.parse_args(argv)
    source, docs = Path(args.source), Path(args.docs)
    if not source.is_dir():
        print(f'pylit.serve: error: {source}: no such source folder; pass --source DIR', file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f'pylit.serve: error: --port {args.port} is not a port number', file=sys.stderr)
        return 2
    flags = args.pylit_flags or default_pylit_flags(args.port, args.translate_cache)
    cache = Path(args.translate_cache)
    hub = Hub()
    builder = Builder(source, docs, flags, cache if cache.is_dir() else None, hub,
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    try:
        server = make_server(docs, args.port, hub)
    except OSError as e:
        print(f'pylit.serve: error: cannot listen on {HOST}:{args.port} ({e.strerror}); '
              f'pass another --port (make serve PORT=8001)', file=sys.stderr)
        return 2
    port = server.server_address[1]
    if not args.no_build:
        builder.build()
    docs.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    watched = [source, PACKAGE / 'templates', PACKAGE / 'static'] + ([cache] if cache.is_dir() else [])
    ready = threading.Event()
    watcher = threading.Thread(target=watch, args=(builder, watched, stop, args.poll),
                               kwargs={'log': builder.log, 'ready': ready}, daemon=True)
    watcher.start()
    if not ready.wait(30):
        print('pylit.serve: warning: the file watcher has not started; pages may not reload', file=sys.stderr)
    print(f'Serving the site at http://{HOST}:{port}/ (live preview: saved sources rebuild and reload; Ctrl-C stops)',
          flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
