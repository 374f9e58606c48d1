"""
# Render one page (runs in a bounded worker)

A page is its notes (Markdown with math), its code (Pygments) and the page template with the
navigation. `render_page` takes a `PageTask`, plain data made by the build, and returns the HTML
with what the link checker needs; the build writes it. Each call runs in a worker of
`pylit.pool`, so a page that recurses, hangs or eats memory costs only that page.

Before Markdown sees the notes, `check_notes` refuses input that Python-Markdown takes
quadratic time or deep recursion on (thousands of unclosed `[` in a paragraph, lists nested
hundreds deep): one clear line instead of a minute of CPU.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from .discover import SourceFile
from .nav import nav_strings, url_path
from .parse import Module

# Limits of what the notes may nest (far above any real page)
MAX_BRACKET_DEPTH = 64
MAX_LIST_DEPTH = 24


class PageError(Exception):
    """A page that cannot be rendered; the message is one line."""


def check_notes(text: str) -> str | None:
    """Why these notes cannot be rendered in bounded time, or `None`."""
    for paragraph in re.split(r'\n[ \t]*\n', text):
        depth = deepest = 0
        for ch in paragraph:
            if ch == '[':
                depth += 1
                deepest = max(deepest, depth)
            elif ch == ']' and depth:
                depth -= 1
        if deepest > MAX_BRACKET_DEPTH:
            return f'a paragraph opens {deepest} `[` without closing them (the limit is {MAX_BRACKET_DEPTH})'
    levels = 0
    for m in re.finditer(r'^([ \t]*)[*+-] ', text, re.M):
        levels = max(levels, len(m.group(1).expandtabs(4)) // 4)
    if levels > MAX_LIST_DEPTH:
        return f'lists nest {levels} levels deep (the limit is {MAX_LIST_DEPTH})'
    return None


@dataclass(frozen=True)
class PageTask:
    """All a worker needs to render one page in one language."""
    src: SourceFile
    lang: str
    text: str
    module: Module
    title: str
    summary: str | None
    breadcrumbs: tuple
    math: dict
    site: dict
    translation: object = None
    nav: dict | None = None
    home: tuple = ()
    notebook: str | None = None
    make_notebook: bool = False
    template_dir: str | None = None
    # The page's path: the worker writes its HTML (and notebook) to temporary files beside it
    # and the build's write stage renames them into place (see `stage`)
    out_path: str | None = None


@dataclass(frozen=True)
class RenderedPage:
    html: str | None
    anchors: tuple[str, ...]
    links: tuple[tuple[str, int], ...]
    warnings: tuple[str, ...] = ()
    notebook: str | None = None
    # `(temporary file, path)` pairs written by the worker, for the write stage to rename
    staged: tuple = ()


def _code_html(section, lines: list[str]) -> str:
    """The code column of a section: highlighted lines with their original numbers."""
    code = list(section.code)
    while code and not code[0][1].strip():
        code.pop(0)
    while code and not code[-1][1].strip():
        code.pop()
    # `--i`: the line's indentation, for the hanging indent of a wrapped line (site.css)
    return ''.join(f'<span class="line"{_indent_style(text)}><span class="ln" data-ln="{n}"></span>{lines[n - 1]}</span>'
                   for n, text in code)


def _indent_style(text: str) -> str:
    indent = min(len(text) - len(text.lstrip(' ')), 40)
    return f' style="--i:{indent}"' if indent and text.strip() else ''


def source_link(repo_url: str | None, rel: str) -> str:
    """The page's "source" link: the module in the repository (`--repo_url`), else its copy beside the page."""
    if repo_url:
        return f'{repo_url.rstrip("/")}/{url_path(rel)}'
    return url_path(posixpath.basename(rel))


def _section_lines(section) -> tuple[int, int]:
    numbers = list(section.docs_lines) + [n for n, _ in section.code]
    return (min(numbers), max(numbers)) if numbers else (0, 0)


def issue_link(site: dict, title: str, page_url: str, rel: str, anchor: str, lines: tuple[int, int]) -> str | None:
    """
    A link that opens a new issue pre-filled with the page (and section) and the source lines.
    Kept short: a page has one per section, and they count in its weight.
    """
    if not site.get('issues_url'):
        return None
    first, last = lines
    body = f'Page: {page_url}#{anchor}\nSource: {rel}#L{first}-L{last}\n\n'
    query = urlencode({'title': f'{title}: {anchor}', 'body': body}, quote_via=lambda v, *a: quote(v, safe='/:'))
    return f'{site["issues_url"].rstrip("/")}/new?{query}'


_TEMPLATES = {}


def _templates(template_dir: str | None):
    from pathlib import Path
    from .page import Templates
    if template_dir not in _TEMPLATES:
        templates = Templates(Path(template_dir) if template_dir else None)
        # A build's templates do not change while it runs: no need to check their files per page
        templates.env.auto_reload = False
        _TEMPLATES[template_dir] = templates
    return _TEMPLATES[template_dir]


def preload(template_dir: str | None, notebooks: bool = False):
    """Import the renderers and compile the templates (in the build, before the workers fork)."""
    from . import highlight, notes  # noqa: F401
    templates = _templates(template_dir)
    for name in ('page.html', 'nav.html', 'pager.html', 'home.html', 'section_tools.html'):
        try:
            templates.env.get_template(name)
        except Exception:
            pass
    if notebooks:
        import nbformat  # noqa: F401
        from nbformat import v4  # noqa: F401


def render_module(tasks: tuple) -> list:
    """
    The pages of one module in every language: the code column (Pygments) and the English
    notes (Markdown) are rendered once and shared by the languages.
    """
    shared = {}
    pages = [render_page(t, shared) for t in tasks]
    if any(t.out_path for t in tasks):
        return stage(tasks, pages)
    return pages


def stage(tasks, pages: list) -> list:
    """
    Write the HTML and notebook of each page with an `out_path` to a temporary file in its
    folder (`write_atomic`'s names, which an interrupted build's successor removes), so that
    the pages travel to the build as file names rather than through a pipe, and are written
    by the workers in parallel. Returns the pages with `staged` set and no text; nothing is
    left behind if one fails.
    """
    import dataclasses
    import os
    import tempfile
    from pathlib import Path
    staged, out = [], []
    try:
        for t, page in zip(tasks, pages):
            if not t.out_path:
                out.append(page)
                continue
            files = []
            target = Path(t.out_path)
            items = [(target, page.html)]
            if page.notebook is not None:
                items.append((target.with_suffix('.ipynb'), page.notebook))
            for path, text in items:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
                staged.append(tmp)
                with os.fdopen(fd, 'wb') as f:
                    # The mode `write_atomic` gives a new file (the write stage keeps an existing file's)
                    if hasattr(os, 'fchmod'):
                        os.fchmod(fd, 0o644)
                    f.write(text.encode('utf-8'))
                files.append((tmp, str(path)))
            out.append(dataclasses.replace(page, html=None, notebook=None, staged=tuple(files)))
    except BaseException:
        for tmp in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    return out


def render_page(t: PageTask, shared: dict | None = None) -> RenderedPage:
    from markupsafe import Markup
    from .highlight import highlight_lines
    from .notes import NotesRenderer, math_error_html
    from .page import LANGUAGE_NAMES, Link, PageContext, PageSection

    shared = {} if shared is None else shared
    if 'checked' not in shared:
        # The notes are the same in every language: checked once per module
        for s in t.module.sections:
            problem = check_notes(s.docs)
            if problem:
                raise PageError(f'{problem}; page skipped')
        shared['checked'] = True
    missing = []

    def render_math(tex, display):
        r = t.math.get((tex, display))
        if r is None:
            # A formula the build did not send to KaTeX: a bug of ours, never silent
            missing.append(tex)
            return math_error_html(tex, display, 'not rendered')
        if r[0] is None:
            return math_error_html(tex, display, r[1])
        return r[0]

    site = t.site
    out = t.src.out
    lang = t.lang
    prefix = '' if lang == 'en' else f'{lang}/'
    site_url = site['site_url'].rstrip('/') if site['site_url'] else None
    page_url = f'{site_url}/{prefix}{url_path(out)}' if site_url else f'{prefix}{url_path(out)}'
    if 'lines' not in shared:
        shared['lines'] = highlight_lines(t.text)
    lines = shared['lines']
    sections, issue_urls = [], {}
    for i, s in enumerate(t.module.sections):
        if site['remove_empty_sections'] and s.is_empty:
            continue
        html = None
        if t.translation is not None:
            html = t.translation.section_html(s, render_math)
        if html is None:
            if 'notes' not in shared:
                # The English notes of every section, rendered once for all languages, when first
                # needed (one renderer per module: heading ids are unique across its page)
                shared['notes'] = NotesRenderer(render_math).render_many([s.docs for s in t.module.sections])
            html = shared['notes'][i]
        if ('code', i) not in shared:
            shared[('code', i)] = _code_html(s, lines)
        anchor = f'section-{i}'
        sections.append(PageSection(anchor=anchor, notes=Markup(html), code=Markup(shared[('code', i)])))
        url = issue_link(site, t.title, page_url, t.src.rel, anchor, _section_lines(s))
        if url:
            issue_urls[anchor] = url
    source_url = source_link(site['repo_url'], t.src.rel)
    canonical = page_url if site_url else None
    root = '../' * out.count('/')
    alternates, languages = [], []
    for code in site['languages']:
        lang_prefix = '' if code == 'en' else f'{code}/'
        own_root = '' if lang == 'en' else '../'
        languages.append({'lang': code, 'name': LANGUAGE_NAMES.get(code, code),
                          'href': f'{root}{own_root}{lang_prefix}{url_path(out)}', 'current': code == lang})
        if site_url:
            alternates.append({'lang': code, 'href': f'{site_url}/{lang_prefix}{url_path(out)}'})
    status = t.translation.page_status(site) if t.translation is not None else None
    ctx = PageContext(title=t.title, summary=t.summary, lang=lang, root=root,
                      sections=tuple(sections),
                      breadcrumbs=tuple(Link(title, href) for title, href in t.breadcrumbs),
                      source_url=source_url, source_rel=t.src.rel, canonical=canonical,
                      alternates=tuple(alternates), languages=tuple(languages),
                      translation_status=status,
                      extra={'is_home': out == 'index.html', 'site_pages': [],
                             'chapter_nav': t.nav, 'home_groups': list(t.home), 'notebook': t.notebook,
                             'citation': t.module.bibtex, 'issue_urls': issue_urls,
                             'nav_ui': nav_strings(lang)})
    page_html = _templates(t.template_dir).render(ctx)
    anchors = tuple(sorted(set(_ids(page_html))))
    if 'links' not in shared:
        links = []
        for s in t.module.sections:
            for target in re.findall(r'\]\(([^)\s]+)', s.docs):
                links.append((target, s.line_of(s.docs.find(target))))
        shared['links'] = tuple(links)
    links = shared['links']
    warnings = tuple(f'{t.src.rel}: warning: formula {tex[:60]!r} was not rendered (a pylit bug)' for tex in missing)
    notebook = None
    if t.make_notebook:
        from .notebook import make_notebook
        notebook = make_notebook(t.module, t.title)
    return RenderedPage(page_html, anchors, links, warnings, notebook)


_ID_RE = re.compile(r'id="([^"]+)"')


def _ids(page_html: str) -> list[str]:
    """The values of the `id` attributes of a page (`\\sid="..."`; searched for `id="` first, which is fast)."""
    return [m.group(1) for m in _ID_RE.finditer(page_html) if m.start() and page_html[m.start() - 1].isspace()]
