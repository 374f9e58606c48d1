"""
---
title: Translation status pages
summary: >
  One page per language on the site that says how much is translated: every page with its
  translated share, its untranslated and outdated chunks, and a link to its cache file.
---

# Translation status pages

```
python -m pylit.translate.status_page --site docs --src labml_nn --translate_cache translate_cache \\
    [--languages zh,ja,si] [--cache_url URL] [--repo_url URL]
```

writes `docs/<lang>/translation-status.html` for each language (default: every language with
caches). It reads the same numbers as `pylit translate status`, after the build, and needs
nothing from the build but its output folder: it is called from the Makefile like
`utils/search.py`. The frame's words come from `pylit/messages/<lang>.json`; the English of
untranslated chunks is shown as text (escaped), never as HTML.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

import jinja2

from ..languages import get, site_languages
from ..page import ui_strings
from .glossary import _text
from .status import collect, totals

FILE_NAME = 'translation-status.html'

TEMPLATE = '''<!DOCTYPE html>
<html lang="{{ language.html_lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ title }}</title>
<link rel="stylesheet" href="../static/site.css">
<style>
.status-page { max-width: 1100px; margin: 0 auto; padding: 0 1rem 2rem; }
.status-page table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
.status-page th, .status-page td { border-bottom: 1px solid var(--border, #ddd); padding: .3rem .5rem; text-align: left; vertical-align: top; }
.status-page td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status-page .bar { display: inline-block; height: .6em; background: currentColor; opacity: .5; }
.status-page details { margin: .4rem 0; }
.status-page blockquote { margin: .3rem 0 .3rem 1rem; color: var(--muted, #666); }
</style>
</head>
<body>
<header class="site-header"><nav class="breadcrumbs"><a href="index.html">{{ ui.home }}</a></nav>
<div class="tools"><nav class="languages" aria-label="{{ ui.languages }}">{% for l in others %}{% if l.code == language.code %}<span class="lang current" lang="{{ l.html_lang }}">{{ l.name }}</span>{% else %}<a class="lang" lang="{{ l.html_lang }}" hreflang="{{ l.html_lang }}" href="../{{ l.code }}/{{ file_name }}">{{ l.name }}</a>{% endif %}{% endfor %}</nav></div>
</header>
<main class="status-page" data-pagefind-ignore="all">
<h1>{{ title }}</h1>
<p class="summary">{{ summary }}</p>
<p>{{ ui.status_help }}</p>
<table>
<thead><tr><th>{{ ui.status_page }}</th><th>{{ ui.status_share }}</th><th>{{ ui.status_untranslated }}</th><th>{{ ui.status_outdated }}</th><th>{{ ui.status_cache }}</th></tr></thead>
<tbody>
{% for p in pages %}<tr><td>{% if p.href %}<a href="{{ p.href }}">{{ p.title }}</a>{% else %}{{ p.title }}{% endif %}</td>
<td class="num">{{ p.percent }}% <span class="bar" style="width: {{ (p.percent / 2) | int }}px"></span></td>
<td class="num">{{ p.untranslated }}</td><td class="num">{{ p.outdated }}</td>
<td>{% if p.cache_href %}<a href="{{ p.cache_href }}"><code>{{ p.cache_file }}</code></a>{% else %}<code>{{ p.cache_file }}</code>{% endif %}</td></tr>
{% endfor %}</tbody>
</table>
{% if not todo %}<p>{{ ui.status_none }}</p>{% endif %}
{% for p in todo %}<section id="{{ p.anchor }}">
<h2>{{ p.title }}</h2>
{% if p.untranslated_texts %}<details open><summary>{{ ui.status_untranslated_list }} ({{ p.untranslated_texts | length }})</summary><ul>
{% for t in p.untranslated_texts %}<li>{{ t }}</li>
{% endfor %}</ul></details>{% endif %}
{% if p.outdated_items %}<details open><summary>{{ ui.status_outdated_list }} ({{ p.outdated_items | length }})</summary><ul>
{% for o in p.outdated_items %}<li>{{ o.new }}<blockquote lang="{{ language.html_lang }}">{{ o.old }}</blockquote></li>
{% endfor %}</ul></details>{% endif %}
</section>
{% endfor %}
</main>
</body>
</html>
'''


def _excerpt(text: str, n: int = 240) -> str:
    # a title or summary is plain text; a chunk is HTML, shown by its words
    text = _text(text) if text.lstrip().startswith('<') else text
    text = re.sub(r'\s+', ' ', text).strip()
    return text if len(text) <= n else text[:n] + '…'


def _out_of(module: str) -> str:
    """The page a module becomes (`x/__init__` -> `x/index.html`, `x/y` -> `x/y.html`)."""
    if module == '__init__':
        return 'index.html'
    if module.endswith('/__init__'):
        return module[:-len('__init__')] + 'index.html'
    return module + '.html'


def render_status_page(src: Path, cache_dir: Path, lang: str, site: Path | None = None,
                       cache_url: str | None = None, languages=None) -> str:
    """The HTML of the status page of `lang`."""
    language = get(lang)
    ui = ui_strings(lang)
    pages = [p for p in collect(src, cache_dir, [lang], suggest=True)]
    t = totals(pages)
    rows, todo = [], []
    for p in pages:
        out = _out_of(p.module)
        title = p.module
        if site is not None:
            page_file = site / lang / out
            if page_file.is_file():
                m = re.search(r'<title>(.*?)</title>', page_file.read_text(encoding='utf-8'), re.S)
                if m:
                    title = html.unescape(m.group(1)).strip()
        rel_cache = Path(p.cache_file)
        try:
            rel_cache = rel_cache.relative_to(cache_dir)
        except ValueError:
            pass
        percent = int(100 * p.share) if p.total else 100
        row = {'title': title, 'href': out if site is None or (site / lang / out).is_file() else None,
               'percent': percent, 'untranslated': p.untranslated, 'outdated': p.outdated,
               'cache_file': f'{cache_dir.name}/{rel_cache.as_posix()}',
               'cache_href': f'{cache_url.rstrip("/")}/{rel_cache.as_posix()}' if cache_url else None,
               'anchor': 'page-' + re.sub(r'[^A-Za-z0-9]+', '-', p.module).strip('-')}
        outdated_keys = {s.key for s in p.suggestions}
        row['untranslated_texts'] = [_excerpt(k) for k in p.untranslated_keys if k not in outdated_keys]
        row['outdated_items'] = [{'new': _excerpt(s.key), 'old': _excerpt(s.translation)} for s in p.suggestions]
        rows.append(row)
        if row['untranslated_texts'] or row['outdated_items']:
            todo.append(row)
    summary = ui['status_summary'].format(pages=t['pages'], percent=int(100 * t['share']),
                                          translated=t['translated'], total=t['total'],
                                          untranslated=t['untranslated'], invalid=t['invalid'],
                                          outdated=t['outdated'])
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(
        language=language, ui=ui, title=ui['status_title'].format(language=language.name),
        summary=summary, pages=rows, todo=todo, file_name=FILE_NAME,
        others=[l for l in (languages or [language]) if l.code != 'en'])


def write_status_pages(site: Path, src: Path, cache_dir: Path, langs: list[str] | None = None,
                       cache_url: str | None = None) -> list[Path]:
    """Write `site/<lang>/translation-status.html` for each language; returns the files."""
    from ..write import write_atomic
    known = [l for l in site_languages(cache_dir) if l.code != 'en']
    if langs:
        known = [get(c) for c in langs]
    written = []
    for language in known:
        out = site / language.code / FILE_NAME
        text = render_status_page(src, cache_dir, language.code, site, cache_url, known)
        write_atomic(out, text)
        written.append(out)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m pylit.translate.status_page',
                                description='Write a translation-status page per language into the built site.')
    p.add_argument('--site', required=True, help='the built site (such as docs)')
    p.add_argument('--src', default='labml_nn', help='package root whose modules are the pages')
    p.add_argument('--translate_cache', default='translate_cache', help='cache folder')
    p.add_argument('--languages', default='', help='comma- or space-separated languages (default: every one with caches)')
    p.add_argument('--cache_url', help='URL of the cache folder on the repository host, for the links')
    a = p.parse_args(argv)
    langs = [x for x in re.split(r'[,\s]+', a.languages) if x and x != 'en']
    try:
        langs = [get(x).code if get(x) else x for x in langs]
        for x in langs:
            if get(x) is None:
                from ..languages import resolve
                resolve(x)
        files = write_status_pages(Path(a.site), Path(a.src), Path(a.translate_cache), langs or None, a.cache_url)
    except ValueError as e:
        print(f'status_page: error: {e}', file=sys.stderr)
        return 2
    for f in files:
        print(f'wrote {f}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
