"""
# Build the search index of the site with Pagefind

```
python utils/search.py [--site docs]
```

Runs the *extended* Pagefind binary from the npm package `pagefind` (in `node_modules/`) over the
built site. Pagefind reads each page's `<html lang>` and writes one index per language into
`SITE/pagefind/`; the extended build is the one that splits Chinese and Japanese text into words.

The index is written to a temporary folder inside the site and then swapped in, so a failed run
leaves the previous index in place. The visual half of each formula (`.katex-html`) and the TeX
source annotation are left out of the index: the MathML text of a formula is enough to find it,
and the excerpts stay readable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXCLUDE = ['.katex-html', 'semantics > :not(annotation)']


class SearchError(Exception):
    pass


def find_pagefind(node_modules: Path | None = None) -> list[str]:
    """The command that runs Pagefind's extended binary."""
    candidates = []
    if os.environ.get('PYLIT_NODE_MODULES'):
        candidates.append(Path(os.environ['PYLIT_NODE_MODULES']))
    if node_modules:
        candidates.append(Path(node_modules))
    candidates.append(REPO / 'node_modules')
    for nm in candidates:
        # The platform package ships the extended binary itself; the `pagefind` wrapper finds it
        for binary in sorted(nm.glob('@pagefind/*/bin/pagefind_extended')):
            if os.access(binary, os.X_OK):
                return [str(binary)]
        wrapper = nm / '.bin' / 'pagefind'
        if wrapper.exists():
            return [str(wrapper)]
    raise SearchError('Pagefind is not installed: run `npm ci` in the repository root (or `make setup`)')


def build_index(site: Path, node_modules: Path | None = None, quiet: bool = True) -> str:
    """Index every page of `site` into `site/pagefind/`; returns Pagefind's log."""
    site = Path(site)
    if not (site / 'index.html').is_file() and not any(site.rglob('*.html')):
        raise SearchError(f'{site}: no built pages to index; build the site first (make docs)')
    command = find_pagefind(node_modules)
    final = site / 'pagefind'
    tmp = site / '.pagefind.tmp'
    old = site / '.pagefind.old'
    for p in (tmp, old):
        shutil.rmtree(p, ignore_errors=True)
    args = command + ['--site', str(site), '--output-path', str(tmp)]
    for selector in EXCLUDE:
        args += ['--exclude-selectors', selector]
    r = subprocess.run(args, capture_output=True, text=True)
    log = r.stdout + r.stderr
    if r.returncode != 0 or not (tmp / 'pagefind.js').is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        last = [l for l in log.splitlines() if l.strip()][-1:] or ['no output']
        raise SearchError(f'pagefind failed on {site} (exit {r.returncode}): {last[0]}')
    if 'Extended' not in log:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SearchError('the Pagefind binary found is not the extended build, which Chinese and Japanese need; '
                          'install the npm package `pagefind` (npm ci)')
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    if not quiet:
        print(log, end='')
    return log


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description='Build the Pagefind search index of the built site.')
    p.add_argument('--site', default='docs', help='the built site (default: docs)')
    p.add_argument('-v', '--verbose', action='store_true', help="print Pagefind's log")
    args = p.parse_args(argv)
    try:
        log = build_index(Path(args.site), quiet=not args.verbose)
    except SearchError as e:
        print(f'search: error: {e}', file=sys.stderr)
        return 1
    summary = [l.strip() for l in log.splitlines() if l.strip().startswith(('Indexed', 'Discovered'))]
    print(f'search: {"; ".join(summary)} -> {Path(args.site) / "pagefind"}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
