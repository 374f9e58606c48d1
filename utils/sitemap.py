"""
# Write `sitemap.xml` for the built site

```
python utils/sitemap.py --site docs --site_url https://example.org [--source labml_nn] [--translate_cache translate_cache]
```

Every page of every language is listed: the English site is `SITE/` and each translated site is a
folder `SITE/<lang>/` with its own build manifest (`.pylit-manifest.json`, written by `pylit`),
which says which source each page was built from. Each `<url>` carries

* `lastmod`: the time of the last commit that touched the page's source
  (what `git log -1 --format=%cI -- <source>` says; all sources are read from one `git log` pass); a source with uncommitted changes, or one outside git,
  gives the file's modification time instead. A translated page also counts its translation
  cache file (`<cache>/<module path>.<lang>.json`), whichever changed last;
* `xhtml:link` alternates to the same page in the other languages, as the pages' own
  `<link rel="alternate" hreflang>` tags do.

The page URLs are `SITE_URL/<lang>/<page>`, the same as the pages' canonical URLs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from pylit.build import MANIFEST
from pylit.page import html_lang
from pylit.write import write_atomic




class SitemapError(Exception):
    pass


def read_manifest(folder: Path) -> dict[str, dict]:
    """`{source rel path: page record}` of the build in `folder`."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise SitemapError(f'{path}: no build manifest; build the site first (make docs)') from None
    except ValueError as e:
        raise SitemapError(f'{path}: not valid JSON ({e}); rebuild the site') from None
    pages = data.get('pages')
    if not isinstance(pages, dict):
        raise SitemapError(f'{path}: has no "pages"; rebuild the site')
    return pages


def language_sites(site: Path) -> dict[str, Path]:
    """`{lang: folder}`: English at the root, a translated site in each `<lang>/` with a manifest."""
    sites = {'en': site}
    for child in sorted(site.iterdir()):
        if child.is_dir() and (child / MANIFEST).is_file() and child.name != 'en':
            sites[child.name] = child
    return sites


class LastModified:
    """The time each file last changed: git history first, the file's time otherwise."""

    def __init__(self, paths: list[Path]):
        self._git_root = self._find_git_root(paths)
        self._dirty: set[Path] = set()
        if self._git_root is not None:
            r = subprocess.run(['git', 'status', '--porcelain', '-z', '--untracked-files=all'],
                               cwd=self._git_root, capture_output=True, text=True)
            if r.returncode == 0:
                entries = r.stdout.split('\0')
                i = 0
                while i < len(entries):
                    e = entries[i]
                    if len(e) > 3:
                        self._dirty.add((self._git_root / e[3:]).resolve())
                        if e[0] in 'RC':   # a rename names the old path next
                            i += 1
                    i += 1
        self._committed = self._history(paths)

    @staticmethod
    def _find_git_root(paths: list[Path]) -> Path | None:
        for p in paths:
            folder = p if p.is_dir() else p.parent
            if not folder.exists():
                continue
            r = subprocess.run(['git', 'rev-parse', '--show-toplevel'], cwd=folder,
                               capture_output=True, text=True)
            if r.returncode == 0:
                return Path(r.stdout.strip()).resolve()
        return None

    def _history(self, roots: list[Path]) -> dict[Path, str]:
        """The last commit time of every file under `roots`, from one pass over `git log`
        (newest first, so the first time seen for a file is the one `git log -1 -- file` gives)."""
        found: dict[Path, str] = {}
        if self._git_root is None:
            return found
        specs = [str(r.resolve()) for r in roots if r.exists() and self._inside_git(r.resolve())]
        if not specs:
            return found
        r = subprocess.run(['git', 'log', '--format=%x01%cI', '--name-only', '--no-renames', '-z', '--'] + specs,
                           cwd=self._git_root, capture_output=True, text=True)
        if r.returncode != 0:
            return found
        when = None
        for field in r.stdout.split('\0'):
            for part in field.split('\n'):
                part = part.strip('\n')
                if part.startswith('\x01'):
                    when = part[1:]
                elif part and when:
                    found.setdefault((self._git_root / part).resolve(), when)
        return found

    def of(self, path: Path) -> str | None:
        """ISO 8601 time of the last change of `path`, or `None` when it does not exist."""
        path = path.resolve()
        if not path.exists():
            return None
        if path not in self._dirty and path in self._committed:
            return self._committed[path]
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
        return mtime.replace(microsecond=0).isoformat()

    def _inside_git(self, path: Path) -> bool:
        try:
            path.relative_to(self._git_root)
            return True
        except ValueError:
            return False


def _latest(times: list[str | None]) -> str | None:
    known = [t for t in times if t]
    if not known:
        return None
    return max(known, key=lambda t: dt.datetime.fromisoformat(t.replace('Z', '+00:00')))


def page_url(site_url: str, lang: str, out: str) -> str:
    """The page's public URL, its path percent-encoded (`with space.html` -> `with%20space.html`)."""
    prefix = '' if lang == 'en' else f'{lang}/'
    return f'{site_url.rstrip("/")}/{prefix}{quote(out, safe="/")}'


def make_sitemap(site: Path, site_url: str, source: Path, translate_cache: Path | None) -> str:
    """The text of `sitemap.xml` for the built `site`."""
    sites = language_sites(site)
    manifests = {lang: read_manifest(folder) for lang, folder in sites.items()}
    times = LastModified([source] + ([translate_cache] if translate_cache else []))
    # Which languages each source has a page in, for the alternates
    langs_of: dict[str, list[str]] = {}
    for lang, pages in manifests.items():
        for rel in pages:
            langs_of.setdefault(rel, []).append(lang)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
             'xmlns:xhtml="http://www.w3.org/1999/xhtml">']
    for lang, pages in manifests.items():
        for rel in sorted(pages, key=lambda r: pages[r]['out']):
            out = pages[rel]['out']
            stamps = [times.of(source / rel)]
            if lang != 'en' and translate_cache is not None:
                module = rel[:-3] if rel.endswith('.py') else rel
                stamps.append(times.of(translate_cache / f'{module}.{lang}.json'))
            lastmod = _latest(stamps)
            lines.append('  <url>')
            lines.append(f'    <loc>{escape(page_url(site_url, lang, out))}</loc>')
            if lastmod:
                lines.append(f'    <lastmod>{escape(lastmod)}</lastmod>')
            others = langs_of.get(rel, [])
            if len(others) > 1:
                for alt in others:
                    alt_out = manifests[alt][rel]['out']
                    lines.append(f'    <xhtml:link rel="alternate" hreflang={quoteattr(html_lang(alt))} '
                                 f'href={quoteattr(page_url(site_url, alt, alt_out))}/>')
            lines.append('  </url>')
    lines.append('</urlset>')
    return '\n'.join(lines) + '\n'


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description='Write sitemap.xml for the built site (every language).')
    p.add_argument('--site', default='docs', help='the built site (default: docs)')
    p.add_argument('--site_url', required=True, help='public URL of the site root, e.g. https://example.org')
    p.add_argument('--source', default='labml_nn', help='the source root the pages were built from (default: labml_nn)')
    p.add_argument('--translate_cache', default='translate_cache', help='the translation cache folder (default: translate_cache)')
    args = p.parse_args(argv)
    site = Path(args.site)
    if not site.is_dir():
        print(f'sitemap: error: {site}: no such folder; build the site first (make docs)', file=sys.stderr)
        return 1
    if not args.site_url.startswith(('http://', 'https://')):
        print(f'sitemap: error: --site_url {args.site_url!r} must be an absolute http(s) URL', file=sys.stderr)
        return 2
    cache = Path(args.translate_cache)
    try:
        text = make_sitemap(site, args.site_url, Path(args.source), cache if cache.is_dir() else None)
    except SitemapError as e:
        print(f'sitemap: error: {e}', file=sys.stderr)
        return 1
    write_atomic(site / 'sitemap.xml', text)
    print(f'sitemap: {text.count("<url>")} pages -> {site / "sitemap.xml"}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
