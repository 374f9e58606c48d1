"""
# Navigation of a large site

Everything here comes from the modules' front matter and the folders, never from a hand-kept
list:

* a **chapter** is a folder; its `__init__.py` is its map (the chapter's index page);
* the chapter's pages are its modules and its sub-chapters' index pages, in the order the
  chapter's map first links to them (its reading order), then by file name;
* each page shows its chapter's contents (a sidebar on wide screens, a drawer on phones) and
  links to the previous and next page of the chapter (`rel="prev"`/`rel="next"`);
* the home page lists every chapter with each paper's title, year and summary. The year is
  front matter `year`, or else derived from the first arXiv link of the module
  (`arxiv.org/abs/2305.14342` gives 2023).
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import quote


def nav_strings(lang: str) -> dict:
    """
    The words of the navigation in `lang` (the chapter contents, previous/next, the notebook,
    citation and report links): like every word of the page frame, they live in the message
    catalogue `pylit/messages/<lang>.json`, with English for any a language lacks.
    """
    from .page import ui_strings
    return ui_strings(lang)


def url_path(out: str) -> str:
    """A page's path as it goes into a URL: each segment percent-encoded (`a b.html` -> `a%20b.html`)."""
    return quote(out, safe='/')


def href(from_out: str, to_out: str) -> str:
    """The relative, percent-encoded link from one page to another."""
    return _href(posixpath.dirname(from_out), to_out)


@functools.lru_cache(maxsize=65536)
def _href(from_dir: str, to_out: str) -> str:
    to_dir, name = posixpath.split(to_out)
    if to_dir == from_dir:
        return url_path(name)
    return url_path(posixpath.relpath(to_out, from_dir or '.'))


@dataclass(frozen=True)
class Entry:
    """What the navigation shows of one page (in one language)."""
    rel: str
    out: str
    title: str
    summary: str | None = None
    year: int | None = None

    @property
    def is_index(self) -> bool:
        return posixpath.basename(self.rel) == '__init__.py'

    @property
    def folder(self) -> str:
        parent = posixpath.dirname(self.rel)
        return parent


def chapter_of(rel: str) -> str:
    """The chapter (folder) a page belongs to: its folder; a chapter's index belongs to its parent."""
    folder = posixpath.dirname(rel)
    if posixpath.basename(rel) == '__init__.py':
        return posixpath.dirname(folder) if folder else None
    return folder


def link_order(index_text: str, folder: str) -> dict[str, int]:
    """Where the chapter map first links to each page: `{page out path: position}`."""
    order = {}
    for m in re.finditer(r'\]\(([^)\s#]+)', index_text):
        target = m.group(1)
        if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', target) or target.startswith('/'):
            continue
        path = posixpath.normpath(posixpath.join(folder, target))
        if target.endswith('/'):
            path = posixpath.join(path, 'index.html')
        order.setdefault(path, len(order))
    return order


def chapters(rels: list[str], index_texts: dict[str, str], outs: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """
    `{chapter folder: rels of its pages in reading order}`; `index_texts` holds the source of
    each chapter's `__init__.py`, `outs` each rel's page.
    """
    found: dict[str, list[str]] = {}
    for rel in rels:
        ch = chapter_of(rel)
        if ch is None:
            continue
        found.setdefault(ch, []).append(rel)
    ordered = {}
    for ch, members in found.items():
        index_rel = posixpath.join(ch, '__init__.py') if ch else '__init__.py'
        order = link_order(index_texts.get(index_rel, ''), ch)
        big = len(order) + 1
        ordered[ch] = tuple(sorted(members, key=lambda r: (order.get(outs[r], big), r)))
    return ordered


def chapter_nav(rel: str, out: str, chapter_map: dict[str, tuple[str, ...]],
                entries: dict[str, Entry]) -> dict | None:
    """
    The sidebar and the previous/next links of one page (hrefs relative to `out`): the pages of
    the folder it is in (a chapter's index shows its own chapter). The home page has none.
    """
    if rel == '__init__.py':
        return None
    folder = posixpath.dirname(rel)
    members = [r for r in chapter_map.get(folder, ()) if r in entries]
    index_rel = posixpath.join(folder, '__init__.py') if folder else '__init__.py'
    index = entries.get(index_rel)
    if rel in members:
        i = members.index(rel)
        prev_e = entries[members[i - 1]] if i > 0 else index
        next_e = entries[members[i + 1]] if i + 1 < len(members) else None
    else:
        prev_e, next_e = None, (entries[members[0]] if members else None)

    def link(e: Entry) -> dict:
        return {'title': e.title, 'href': href(out, e.out), 'year': e.year}
    return {
        'title': index.title if index else (folder.split('/')[-1].replace('_', ' ').capitalize() if folder else ''),
        'href': href(out, index.out) if index else None,
        'current_is_index': rel == index_rel,
        'items': [dict(link(entries[r]), current=r == rel, is_chapter=entries[r].is_index) for r in members],
        'prev': link(prev_e) if prev_e else None,
        'next': link(next_e) if next_e else None,
    }


def home_groups(out: str, chapter_map: dict[str, tuple[str, ...]], entries: dict[str, Entry]) -> list[dict]:
    """
    The home page's listing: each chapter (a folder with pages), in reading order (the order
    the maps link to them, depth first), with its pages' title, year and summary.
    """
    order: list[str] = []

    def visit(ch: str):
        if ch in order:
            return
        order.append(ch)
        for r in chapter_map.get(ch, ()):
            if posixpath.basename(r) == '__init__.py':
                visit(posixpath.dirname(r))
    visit('')
    for ch in sorted(chapter_map):
        visit(ch)
    groups = []
    for ch in order:
        index_rel = posixpath.join(ch, '__init__.py') if ch else '__init__.py'
        index = entries.get(index_rel) if ch else None
        pages = []
        for r in chapter_map.get(ch, ()):
            e = entries.get(r)
            if e is None or e.is_index:
                continue
            pages.append({'title': e.title, 'href': href(out, e.out), 'year': e.year, 'summary': e.summary})
        if not pages and index is None:
            continue
        groups.append({'folder': ch, 'depth': ch.count('/') + 1 if ch else 0,
                       'title': index.title if index else (ch.split('/')[-1].replace('_', ' ').capitalize() if ch else ''),
                       'href': href(out, index.out) if index else None,
                       'year': index.year if index else None,
                       'summary': index.summary if index else None, 'pages': pages})
    return groups
