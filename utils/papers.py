"""
# Write `papers.json`: which pages implement each paper

```
python utils/papers.py [--site docs]
```

Each tutorial cites the paper it implements with a link to arXiv. This reads the notes of every
page of the built English site (the pages listed in its build manifest, `.pylit-manifest.json`)
and maps each arXiv id linked from a page to the pages that cite it:

```json
{
 "2305.14342": [{"page": "optimizers/sophia.html", "title": "Sophia-G Optimizer"}]
}
```

Ids are normalised: `https://arxiv.org/pdf/2305.14342v2.pdf` and `https://arxiv.org/abs/2305.14342`
are both `2305.14342`; old-style ids keep their archive (`cs/0112017`). The home page is a table
of contents, not an implementation, so its links are not counted. Ids and pages are sorted, so
the file is the same for the same site.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path

from pylit.build import MANIFEST
from pylit.write import write_atomic


ARXIV_LINK = re.compile(r'''href\s*=\s*["']https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/([^"'#?\s<>]+)''', re.I)
NEW_ID = re.compile(r'^(\d{4}\.\d{4,5})(?:v\d+)?$')
OLD_ID = re.compile(r'^([a-z][a-z.\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$', re.I)
MAIN = re.compile(r'<main\b[^>]*>(.*)</main>', re.S)


class PapersError(Exception):
    pass


def arxiv_id(path: str) -> str | None:
    """The arXiv id in the path part of an arXiv URL, or `None` when it is not one."""
    path = html.unescape(path).strip('/')
    if path.lower().endswith('.pdf'):
        path = path[:-4]
    for pattern in (NEW_ID, OLD_ID):
        m = pattern.match(path)
        if m:
            return m.group(1)
    return None


def cited_ids(page_html: str) -> set[str]:
    """The arXiv ids linked from the body (`<main>`) of a page."""
    m = MAIN.search(page_html)
    body = m.group(1) if m else page_html
    return {i for i in (arxiv_id(p) for p in ARXIV_LINK.findall(body)) if i}


def collect(site: Path) -> dict[str, list[dict]]:
    path = site / MANIFEST
    try:
        pages = json.loads(path.read_text(encoding='utf-8'))['pages']
    except FileNotFoundError:
        raise PapersError(f'{path}: no build manifest; build the site first (make docs)') from None
    except (ValueError, KeyError, TypeError) as e:
        raise PapersError(f'{path}: unreadable build manifest ({e}); rebuild the site') from None
    papers: dict[str, list[dict]] = {}
    for rel in sorted(pages):
        out = pages[rel]['out']
        if out == 'index.html':
            continue
        try:
            text = (site / out).read_text(encoding='utf-8')
        except FileNotFoundError:
            raise PapersError(f'{site / out}: page listed in the manifest is missing; rebuild the site') from None
        for i in cited_ids(text):
            papers.setdefault(i, []).append({'page': out, 'title': pages[rel].get('title') or out})
    return {i: sorted(papers[i], key=lambda p: p['page']) for i in sorted(papers)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description='Write papers.json: arXiv id -> the pages that implement it.')
    p.add_argument('--site', default='docs', help='the built (English) site (default: docs)')
    args = p.parse_args(argv)
    site = Path(args.site)
    if not site.is_dir():
        print(f'papers: error: {site}: no such folder; build the site first (make docs)', file=sys.stderr)
        return 1
    try:
        papers = collect(site)
    except PapersError as e:
        print(f'papers: error: {e}', file=sys.stderr)
        return 1
    write_atomic(site / 'papers.json', json.dumps(papers, indent=1, ensure_ascii=False, sort_keys=True) + '\n')
    print(f'papers: {len(papers)} papers -> {site / "papers.json"}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
