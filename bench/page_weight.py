"""
# Page weight and DOMContentLoaded of the built pages

```
python bench/page_weight.py [--site DIR] [--runs 5] [--page optimizers/sophia.html ...] [--check]
```

For each page of the English site: the HTML's size, its size gzipped, everything a first visit
downloads (HTML, CSS, fonts, scripts, images; measured in headless Chromium with an empty cache,
once raw as a plain static server sends it and once with text files gzipped as a compressing
server would), the number of requests, how many left 127.0.0.1, and the median
DOMContentLoaded time over `--runs` cold visits, served from a local `http.server` on 127.0.0.1.

Without `--site` it builds the English site from `labml_nn/` into `bench/out/site` first.
Targets (issue 6): no third-party request; the first visit to the Sophia page downloads at most
600 KB; DOMContentLoaded at most 300 ms. `--check` makes a missed target exit non-zero.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']
SOPHIA = 'optimizers/sophia.html'
TARGET_BYTES = 600 * 1000
TARGET_DCL_MS = 300
TEXT_TYPES = ('text/', 'application/javascript', 'application/json', 'image/svg+xml')


class Quiet(http.server.SimpleHTTPRequestHandler):
    # Keep-alive, as any real static server does
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass


def build_site(out: Path):
    src = REPO / 'labml_nn'
    entries = sorted(n for n in os.listdir(src) if not n.startswith('.'))
    r = subprocess.run([sys.executable, '-m', 'pylit', '-q', '--remove_empty_sections', '--title_md',
                        '--languages', 'en,zh,ja', '--site_url', 'http://127.0.0.1:8000', '-d', str(out), *entries],
                       cwd=src, capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    if r.returncode != 0:
        sys.exit(f'page_weight: error: the site did not build:\n{r.stderr}')


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def visit(browser, url: str, host: str) -> dict:
    """One first visit with an empty cache: bytes per kind, requests, DOMContentLoaded."""
    context = browser.new_context(viewport={'width': 1280, 'height': 900})
    page = context.new_page()
    responses = []
    requests = []
    page.on('request', lambda r: requests.append(r.url))
    page.on('response', lambda r: responses.append(r))
    page.goto(url, wait_until='load')
    page.evaluate('document.fonts.ready.then(() => true)')
    page.wait_for_load_state('networkidle')
    timing = page.evaluate('''() => {
      const n = performance.getEntriesByType('navigation')[0];
      return {dcl: n.domContentLoadedEventEnd - n.startTime, load: n.loadEventEnd - n.startTime};
    }''')
    raw = packed = 0
    kinds: dict[str, int] = {}
    for r in responses:
        if urlparse(r.url).scheme not in ('http', 'https'):
            continue
        try:
            body = r.body()
        except Exception:
            continue
        ctype = (r.headers.get('content-type') or '').split(';')[0]
        raw += len(body)
        packed += gz(body) if ctype.startswith(TEXT_TYPES) else len(body)
        kind = ('html' if ctype == 'text/html' else 'css' if ctype == 'text/css' else
                'script' if 'javascript' in ctype else 'font' if 'font' in ctype or r.url.endswith('.woff2') else 'other')
        kinds[kind] = kinds.get(kind, 0) + len(body)
    outside = [u for u in requests if urlparse(u).scheme in ('http', 'https') and urlparse(u).hostname != host]
    context.close()
    return {'raw': raw, 'gzip': packed, 'kinds': kinds, 'requests': len(requests), 'outside': outside, **timing}


WARM_TARGET_BYTES = 60 * 1000


def warm_navigation(browser, first: str, second: str) -> dict:
    """
    Bytes that come over the network when a reader who has `first` open follows a link to
    `second` (same browser cache): the new HTML plus whatever the cache cannot answer.
    """
    context = browser.new_context(viewport={'width': 1280, 'height': 900})
    page = context.new_page()
    page.goto(first, wait_until='load')
    page.wait_for_load_state('networkidle')
    responses = []
    page.on('response', lambda r: responses.append(r))
    page.goto(second, wait_until='load')
    page.wait_for_load_state('networkidle')
    total = packed = 0
    items = []
    for r in responses:
        if urlparse(r.url).scheme not in ('http', 'https'):
            continue
        try:
            sizes = r.request.sizes()
        except Exception:
            continue
        # From the cache, Chromium reports a body size of minus the headers' size: nothing came over the network
        n = max(0, sizes['responseBodySize'] + sizes['responseHeadersSize'])
        total += n
        if n == 0:
            items.append((urlparse(r.url).path, 'cache', 0))
            continue
        # As a compressing server would send it
        ctype = (r.headers.get('content-type') or '').split(';')[0]
        try:
            body = r.body() if r.status == 200 and sizes['responseBodySize'] > 0 else b''
        except Exception:
            body = b'\0' * max(0, sizes['responseBodySize'])
        packed += sizes['responseHeadersSize'] + (gz(body) if ctype.startswith(TEXT_TYPES) else len(body))
        items.append((urlparse(r.url).path, r.status, n))
    context.close()
    return {'bytes': total, 'gzip': packed, 'requests': items}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description='Page weight and DOMContentLoaded of the built pages.')
    p.add_argument('--site', help='a built site (default: build labml_nn into bench/out/site)')
    p.add_argument('--runs', type=int, default=5, help='cold visits per page for the DOMContentLoaded median (default: 5)')
    p.add_argument('--page', action='append', help='only this page (repeatable), e.g. optimizers/sophia.html')
    p.add_argument('--json', help='also write the figures to this JSON file')
    p.add_argument('--warm', nargs=2, metavar=('FIRST', 'SECOND'), default=[SOPHIA, 'optimizers/adam.html'],
                   help='measure a warm navigation from one page to another (default: the Sophia page, then Adam)')
    p.add_argument('--check', action='store_true', help='exit non-zero when a target is missed')
    args = p.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f'page_weight: error: {CHROMIUM} is missing; install it with `make browser`', file=sys.stderr)
        return 2
    if args.runs < 1:
        print('page_weight: error: --runs must be at least 1', file=sys.stderr)
        return 2
    site = Path(args.site) if args.site else REPO / 'bench' / 'out' / 'site'
    if not args.site:
        build_site(site)
    manifest = site / '.pylit-manifest.json'
    if not manifest.is_file():
        print(f'page_weight: error: {manifest} is missing; build the site first (make docs)', file=sys.stderr)
        return 2
    pages = sorted(rec['out'] for rec in json.loads(manifest.read_text())['pages'].values())
    if args.page:
        missing = [x for x in args.page if x not in pages]
        if missing:
            print(f'page_weight: error: no such page in {site}: {", ".join(missing)}', file=sys.stderr)
            return 2
        pages = args.page

    from playwright.sync_api import sync_playwright
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f'http://127.0.0.1:{server.server_address[1]}/'
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # One visit to warm the browser process itself, not counted
        visit(browser, base + pages[0], '127.0.0.1')
        for out in pages:
            html = (site / out).read_bytes()
            visits = [visit(browser, base + out, '127.0.0.1') for _ in range(args.runs)]
            first = visits[0]
            rows.append({'page': out, 'html': len(html), 'html_gzip': gz(html), 'first_visit': first['raw'],
                         'first_visit_gzip': first['gzip'], 'kinds': first['kinds'], 'requests': first['requests'],
                         'third_party': sorted({u for v in visits for u in v['outside']}),
                         'dcl_ms': statistics.median(v['dcl'] for v in visits),
                         'dcl_min_ms': min(v['dcl'] for v in visits),
                         'load_ms': statistics.median(v['load'] for v in visits)})
        warm = None
        if all(x in pages or (site / x).is_file() for x in args.warm):
            warm = warm_navigation(browser, base + args.warm[0], base + args.warm[1])
        browser.close()
    server.shutdown()

    print(f'{"page":<48} {"html":>9} {"gzip":>8} {"1st visit":>10} {"(gzip)":>9} {"req":>4} {"3rd":>4} '
          f'{"DCL ms":>7} {"(min)":>6} {"load ms":>8}')
    for r in rows:
        print(f'{r["page"]:<48} {r["html"]:>9,} {r["html_gzip"]:>8,} {r["first_visit"]:>10,} {r["first_visit_gzip"]:>9,} '
              f'{r["requests"]:>4} {len(r["third_party"]):>4} {r["dcl_ms"]:>7.1f} {r["dcl_min_ms"]:>6.1f} {r["load_ms"]:>8.1f}')
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print(f'(DCL: median and minimum of {args.runs} cold visits; load average {load:.2f} on {os.cpu_count()} cores while measuring)')
    ok = True
    third = [u for r in rows for u in r['third_party']]
    print(f'\nthird-party requests: {len(third)} (target 0)' + (f': {third[:5]}' if third else ''))
    ok &= not third
    sophia = next((r for r in rows if r['page'] == SOPHIA), None)
    if sophia:
        kinds = ', '.join(f'{k} {v:,}' for k, v in sorted(sophia['kinds'].items()))
        print(f'{SOPHIA}: first visit {sophia["first_visit"]:,} bytes ({kinds}); '
              f'{sophia["first_visit_gzip"]:,} bytes with gzip (target <= {TARGET_BYTES:,})')
        print(f'{SOPHIA}: DOMContentLoaded {sophia["dcl_ms"]:.1f} ms median, {sophia["dcl_min_ms"]:.1f} ms min, '
              f'of {args.runs} cold visits (target <= {TARGET_DCL_MS} ms)')
        ok &= sophia['first_visit'] <= TARGET_BYTES and sophia['dcl_ms'] <= TARGET_DCL_MS
    worst = max(rows, key=lambda r: r['dcl_ms'])
    print(f'slowest DOMContentLoaded: {worst["page"]} {worst["dcl_ms"]:.1f} ms; '
          f'heaviest first visit: {max(r["first_visit"] for r in rows):,} bytes')
    if warm is not None:
        shown = ', '.join(f'{path} {status} {n:,}' for path, status, n in warm['requests'][:8])
        print(f'warm navigation {args.warm[0]} -> {args.warm[1]}: {warm["bytes"]:,} bytes over the network '
              f'as served here (no compression), {warm["gzip"]:,} with gzip (target <= {WARM_TARGET_BYTES:,}): {shown}')
        ok &= warm['gzip'] <= WARM_TARGET_BYTES
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + '\n')
    if args.check and not ok:
        print('page_weight: a target was missed', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
