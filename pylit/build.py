"""
# Build the site

One linear pipeline:

1. **discover** the modules and assets;
2. decide which pages are stale: a page is rebuilt only when a hash of its source, its parent
   folders' sources (their titles are in the breadcrumbs), the templates, the static files, the
   generator version and the options has changed, or its output file is missing;
3. **parse** the stale modules into sections;
4. **render the math** of all stale pages at once with KaTeX, each distinct formula once;
5. **render the pages** (notes with Markdown, code with Pygments, then the template), in
   parallel worker processes, and write them atomically;
6. copy the static files and assets;
7. **check the links** of every page against the pages and anchors that were built.

Problems are collected as one-line diagnostics (`file:line: warning: ...`); the build goes on,
and the exit status tells whether anything was fatal (or, with `--strict`, any warning).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, asdict
from pathlib import Path
from typing import Callable
import multiprocessing

from . import __version__
from .discover import SourceFile, discover
from .parse import Module, ParseError, decode_source, parse_module

MANIFEST = '.pylit-manifest.json'
STATIC_DIR = Path(__file__).parent / 'static'


@dataclass(frozen=True)
class BuildOptions:
    """The command-line options of a build."""
    out_dir: Path
    paths: tuple[str, ...]
    root: Path = Path('.')
    template_dir: Path | None = None
    remove_empty_sections: bool = False
    title_md: bool = False
    strict: bool = False
    jobs: int = 0
    repo_url: str | None = None
    site_url: str | None = None
    lang: str = 'en'
    languages: tuple[str, ...] = ()
    translate_cache: Path | None = None
    translate_cache_url: str | None = None
    write_caches: bool = True  # False: translated builds read the caches but never write them (preview)

    def content_options(self) -> dict:
        """The options that change what a page contains."""
        return {'remove_empty_sections': self.remove_empty_sections, 'title_md': self.title_md,
                'repo_url': self.repo_url, 'site_url': self.site_url, 'lang': self.lang,
                'languages': list(self.languages), 'translate_cache_url': self.translate_cache_url}


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    level: str
    message: str
    column: int = 0

    def __str__(self):
        where = f'{self.path}:{self.line}' if self.line else self.path
        if self.line and self.column:
            where += f':{self.column}'
        return f'{where}: {self.level}: {self.message}'


@dataclass
class PageRecord:
    """What the build remembers of a page between runs (the manifest)."""
    key: str
    out: str
    title: str
    summary: str | None
    anchors: list[str]
    links: list[tuple[str, int]]
    warnings: list[str]


@dataclass
class BuildReport:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    formulas: int = 0
    pages: dict = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == 'error']

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == 'warning']

    def exit_status(self, strict: bool) -> int:
        return 1 if self.errors or (strict and self.warnings) else 0


# ## Titles and paths

def page_title(module: Module, filename: str, title_md: bool) -> str:
    """Front matter `title`, else (with `--title_md`) the first `# ` heading, else the file name."""
    if module.title:
        return module.title
    if title_md and module.h1_title:
        return module.h1_title.strip()
    return filename


def relative_root(out: str) -> str:
    """The relative path from a page to the site root, such as `../`."""
    depth = out.count('/')
    return '../' * depth


def relative_href(from_out: str, to_out: str) -> str:
    return posixpath.relpath(to_out, posixpath.dirname(from_out) or '.')


# ## Page rendering (runs in the worker processes)

@dataclass(frozen=True)
class PageTask:
    """All a worker needs to render one page; plain data, so it can be sent to a process."""
    src: SourceFile
    text: str
    module: Module
    title: str
    summary: str | None
    breadcrumbs: tuple
    math: dict
    out_path: Path
    site: dict
    translation: object = None
    site_pages: tuple = ()


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
    """The page's "source" link: the module in the repository (`--repo_url`), else its copy in the site."""
    if repo_url:
        return f'{repo_url.rstrip("/")}/{rel}'
    return posixpath.basename(rel)


def render_pages(tasks: list[PageTask], template_dir: str | None) -> list[tuple[str, PageRecord]]:
    """Render and write a batch of pages (one call per worker process)."""
    from markupsafe import Markup
    from .highlight import highlight_lines
    from .notes import NotesRenderer, math_error_html
    from .page import LANGUAGE_NAMES, Link, PageContext, PageSection, Templates
    from .write import write_atomic

    templates = Templates(Path(template_dir) if template_dir else None)
    results = []
    for t in tasks:
        missing = []

        def render_math(tex, display, _math=t.math, _missing=missing):
            r = _math.get((tex, display))
            if r is None:
                # A formula the build did not send to KaTeX: a bug of ours, never silent
                _missing.append(tex)
                return math_error_html(tex, display, 'not rendered')
            if r[0] is None:
                return math_error_html(tex, display, r[1])
            return r[0]

        notes = NotesRenderer(render_math)
        lines = highlight_lines(t.text)
        sections = []
        for i, s in enumerate(t.module.sections):
            if t.site['remove_empty_sections'] and s.is_empty:
                continue
            html = None
            if t.translation is not None:
                html = t.translation.section_html(s, render_math)
            if html is None:
                html = notes.render(s.docs)
            sections.append(PageSection(anchor=f'section-{i}', notes=Markup(html),
                                        code=Markup(_code_html(s, lines))))
        out = t.src.out
        site = t.site
        source_url = source_link(site['repo_url'], t.src.rel)
        if not site['repo_url']:
            # Without a repository address the page links to a copy of its module beside it
            write_atomic(t.out_path.parent / posixpath.basename(t.src.rel), t.text)
        prefix = '' if site['lang'] == 'en' else f'{site["lang"]}/'
        canonical = f'{site["site_url"].rstrip("/")}/{prefix}{out}' if site['site_url'] else None
        root = relative_root(out)
        alternates, languages = [], []
        for lang in site['languages']:
            lang_prefix = '' if lang == 'en' else f'{lang}/'
            own_root = '' if site['lang'] == 'en' else '../'
            href_rel = f'{root}{own_root}{lang_prefix}{out}'
            languages.append({'lang': lang, 'name': LANGUAGE_NAMES.get(lang, lang),
                              'href': href_rel, 'current': lang == site['lang']})
            if site['site_url']:
                alternates.append({'lang': lang, 'href': f'{site["site_url"].rstrip("/")}/{lang_prefix}{out}'})
        status = t.translation.page_status(site) if t.translation is not None else None
        ctx = PageContext(title=t.title, summary=t.summary, lang=site['lang'], root=root,
                          sections=tuple(sections),
                          breadcrumbs=tuple(Link(title, href) for title, href in t.breadcrumbs),
                          source_url=source_url, source_rel=t.src.rel, canonical=canonical,
                          alternates=tuple(alternates), languages=tuple(languages),
                          translation_status=status,
                          extra={'site_pages': [dict(p, href=relative_href(out, p['out'])) for p in t.site_pages],
                                 'is_home': out == 'index.html'})
        page_html = templates.render(ctx)
        write_atomic(t.out_path, page_html)
        anchors = sorted(set(re.findall(r'\sid="([^"]+)"', page_html)))
        links = []
        for s in t.module.sections:
            for href in re.findall(r'\]\(([^)\s]+)', s.docs):
                links.append((href, s.line_of(s.docs.find(href))))
        warnings = [str(Diagnostic(t.src.rel, 0, 'warning', f'formula {tex[:60]!r} was not rendered (a pylit bug)'))
                    for tex in missing]
        results.append((t.src.rel, PageRecord(key='', out=out, title=t.title, summary=t.summary,
                                              anchors=anchors, links=links, warnings=warnings)))
    return results


# ## The build

def _hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b'\0')
    return h.hexdigest()


def _load_manifest(path: Path, salt: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    if data.get('salt') != salt:
        return {}
    return {k: PageRecord(**v) for k, v in data.get('pages', {}).items()}


def _copy_tree(src: Path, dst: Path, pattern: str = '*'):
    from .write import write_atomic
    for p in sorted(src.rglob(pattern)):
        if p.is_file():
            write_atomic(dst / p.relative_to(src), p.read_bytes())


def copy_static(out_dir: Path, node_modules: Path | None):
    """Our CSS and script, Pygments' colours, and KaTeX's CSS and fonts, all served locally."""
    from .highlight import pygments_css
    from .write import write_atomic
    _copy_tree(STATIC_DIR, out_dir / 'static')
    css = (pygments_css('default', '.highlight') + '\n' +
           pygments_css('github-dark', ':root[data-theme="dark"] .highlight') + '\n' +
           '@media (prefers-color-scheme: dark) {\n' +
           pygments_css('github-dark', ':root:not([data-theme="light"]) .highlight') + '\n}\n')
    write_atomic(out_dir / 'static' / 'pygments.css', css)
    if node_modules is not None:
        dist = node_modules / 'katex' / 'dist'
        write_atomic(out_dir / 'static' / 'katex' / 'katex.min.css', (dist / 'katex.min.css').read_bytes())
        _copy_tree(dist / 'fonts', out_dir / 'static' / 'katex' / 'fonts', '*.woff2')


def check_links(pages: dict[str, PageRecord], out_dir: Path) -> list[Diagnostic]:
    """Every relative link in the notes must lead to a built page (and anchor) or file."""
    by_out = {rec.out: rec for rec in pages.values()}
    found = []
    for rel, rec in sorted(pages.items()):
        for href, line in rec.links:
            if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', href) or href.startswith('/'):
                continue
            path, _, anchor = href.partition('#')
            target_out = posixpath.normpath(posixpath.join(posixpath.dirname(rec.out), path)) if path else rec.out
            if path.endswith('/'):
                target_out = posixpath.join(target_out, 'index.html')
            if target_out.endswith('.html'):
                target = by_out.get(target_out)
                if target is None:
                    found.append(Diagnostic(rel, line, 'warning', f'broken link {href!r}: no page {target_out} was built'))
                elif anchor and anchor not in target.anchors:
                    found.append(Diagnostic(rel, line, 'warning', f'broken link {href!r}: {target_out} has no anchor #{anchor}'))
            elif path and not (out_dir / target_out).exists():
                found.append(Diagnostic(rel, line, 'warning', f'broken link {href!r}: no file {target_out} in the site'))
    return found


def katex_message(error: str) -> str:
    """KaTeX's error on one line, without the underlined copy of the formula it appends."""
    first = error.splitlines()[0] if error else 'unknown error'
    first = first.replace('KaTeX parse error: ', '')
    return re.sub(r'(at position \d+):.*$', r'\1', first).replace('\u0332', '')


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context('fork' if 'fork' in methods else 'spawn')


def build(opts: BuildOptions, translator_factory: Callable | None = None) -> BuildReport:
    """Build the pages of `opts.paths` into `opts.out_dir`; see the module notes for the steps."""
    from .page import Templates
    report = BuildReport()
    root = Path(opts.root)
    out_dir = Path(opts.out_dir)
    sources, assets = discover(list(opts.paths), root)

    # Fingerprints of everything besides the source that shapes a page
    from .mathrender import find_node_modules, katex_version, MathSetupError
    try:
        node_modules = find_node_modules()
        katex = katex_version(node_modules)
    except MathSetupError as e:
        node_modules, katex = None, 'missing'
        math_setup_error = str(e)
    else:
        math_setup_error = None
    templates = Templates(opts.template_dir)
    static_hash = _hash(*[p.read_bytes() for p in sorted(STATIC_DIR.rglob('*')) if p.is_file()])
    # The generator's own code counts as its version, so an edited pylit rebuilds every page
    code_hash = _hash(*[p.read_bytes() for p in sorted(Path(__file__).parent.rglob('*.py'))])
    from .translate.keys import KEYS_VERSION
    salt = _hash(__version__, code_hash, str(KEYS_VERSION), templates.fingerprint(), static_hash, katex,
                 json.dumps(opts.content_options(), sort_keys=True))
    manifest_path = out_dir / MANIFEST
    previous = _load_manifest(manifest_path, salt)

    # Read every source; the page key covers the source and its parents' sources
    raw = {}
    for src in sources:
        raw[src.rel] = src.path.read_bytes()
    index_of = {src.folder: src for src in sources if src.is_index}

    def parents(src: SourceFile) -> list[SourceFile]:
        folder = src.folder
        chain = []
        parts = folder.split('/') if folder else []
        own = len(parts) if not src.is_index else len(parts) - 1
        for i in range(own, -1, -1):
            f = '/'.join(parts[:i])
            if f in index_of and index_of[f] is not src:
                chain.append(index_of[f])
        return list(reversed(chain))

    translator = translator_factory(opts) if translator_factory else None

    def page_keys() -> dict[str, str]:
        # A page depends on its source, its parents' sources and (translated) its cache file;
        # the home page lists every page, so it depends on all of them
        found = {}
        for src in sources:
            extra = translator.fingerprint(src) if translator else ''
            found[src.rel] = _hash(raw[src.rel], *[raw[p.rel] for p in parents(src)], extra)
        if home is not None:
            found[home.rel] = _hash(found[home.rel], *[found[s.rel] for s in sources])
        return found

    home = next((s for s in sources if s.out == 'index.html'), None)
    keys = page_keys()
    stale = [s for s in sources
             if s.rel not in previous or previous[s.rel].key != keys[s.rel]
             or not (out_dir / s.out).exists()]

    # Parse the stale modules, and the index modules that give their breadcrumb titles
    parsed: dict[str, Module] = {}
    texts: dict[str, str] = {}
    failed = set()

    def parse(src: SourceFile) -> Module | None:
        if src.rel in parsed or src.rel in failed:
            return parsed.get(src.rel)
        try:
            text = decode_source(raw[src.rel])
            module = parse_module(text)
        except ParseError as e:
            report.diagnostics.append(Diagnostic(src.rel, e.lineno, 'error', f'{e.message}; page skipped'))
            failed.add(src.rel)
            return None
        texts[src.rel] = text
        parsed[src.rel] = module
        return module

    for src in stale:
        parse(src)
    ready = [src for src in stale if src.rel in parsed]

    # The formulas of each stale page: those of its notes and, translated, those the
    # placeholders stand for (the same TeX, cut out by the key dialect)
    from .notes import find_math
    page_math: dict[str, list[tuple[str, bool]]] = {}
    where: dict[tuple[str, bool], list] = {}
    for src in ready:
        module = parsed[src.rel]
        needed = []
        for s in module.sections:
            for f in find_math(s.docs):
                needed.append((f.tex, f.display))
                where.setdefault((f.tex, f.display), []).append((src.rel, s.line_of(f.start)))
        if translator is not None:
            needed += translator.formulas(module)
        page_math[src.rel] = needed

    # Render every distinct formula once
    formulas = list(dict.fromkeys(key for needed in page_math.values() for key in needed))
    rendered: dict[tuple[str, bool], tuple] = {}
    if formulas:
        if math_setup_error:
            report.diagnostics.append(Diagnostic('<build>', 0, 'error', math_setup_error))
        else:
            from .mathrender import KatexPool
            jobs = opts.jobs or os.cpu_count() or 1
            with KatexPool(node_modules, processes=min(jobs, max(1, len(formulas) // 200))) as pool:
                for key, r in zip(formulas, pool.render(formulas)):
                    rendered[key] = (r.html, r.error)
                    if r.error:
                        message = katex_message(r.error)
                        for rel, line in where.get(key, []):
                            report.diagnostics.append(Diagnostic(rel, line, 'warning', f'KaTeX cannot render {key[0][:60]!r}: {message}; fix the TeX'))
    report.formulas = len(formulas)

    # The translations of the stale pages (this also brings their cache files up to date)
    translations = {src.rel: translator.for_module(src, parsed[src.rel]) for src in ready} if translator else {}

    def heading(src: SourceFile) -> tuple[str, str | None]:
        """The title and summary a page shows: as built before, or from its source (translated)."""
        if src.rel in failed:
            return Path(src.rel).name, None
        if src.rel not in parsed:
            return previous[src.rel].title, previous[src.rel].summary
        module = parsed[src.rel]
        title, summary = page_title(module, Path(src.rel).name, opts.title_md), module.summary
        translation = translations.get(src.rel)
        if translation is not None:
            title, summary = translation.title(title), translation.summary(summary)
        return title, summary

    # The home page lists every page with its summary
    site_pages = []
    if home is not None and home in stale:
        for src in sources:
            if src.rel in failed:
                continue
            title, summary = heading(src)
            site_pages.append({'out': src.out, 'rel': src.rel, 'folder': src.folder,
                               'is_index': src.is_index, 'title': title, 'summary': summary,
                               'depth': src.out.count('/')})

    # Render the stale pages, in parallel when there are several
    site = {'remove_empty_sections': opts.remove_empty_sections, 'repo_url': opts.repo_url,
            'site_url': opts.site_url, 'lang': opts.lang, 'languages': list(opts.languages)}
    tasks = []
    for src in ready:
        title, summary = heading(src)
        crumbs = [(heading(p)[0], relative_href(src.out, p.out)) for p in parents(src)]
        math = {key: rendered[key] for key in page_math[src.rel] if key in rendered}
        tasks.append(PageTask(src=src, text=texts[src.rel], module=parsed[src.rel], title=title,
                              summary=summary, breadcrumbs=tuple(crumbs), math=math,
                              out_path=out_dir / src.out, site=site, translation=translations.get(src.rel),
                              site_pages=tuple(site_pages) if src is home else ()))
    jobs = max(1, opts.jobs or os.cpu_count() or 1)
    template_dir = str(opts.template_dir) if opts.template_dir else None
    if jobs > 1 and len(tasks) > 4:
        batches = [tasks[i::jobs] for i in range(jobs)]
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as ex:
            results = [r for batch in ex.map(render_pages, batches, [template_dir] * jobs) for r in batch]
    else:
        results = render_pages(tasks, template_dir)
    if translator is not None:
        report.diagnostics.extend(translator.diagnostics())

    # Record what was built; pages that failed to parse keep no record
    pages: dict[str, PageRecord] = {}
    new = dict(results)
    if translator is not None:
        # Synchronising may have rewritten cache files: remember the pages by their new keys
        keys = page_keys()
    for src in sources:
        if src.rel in new:
            rec = new[src.rel]
            rec.key = keys[src.rel]
            for w in rec.warnings:
                report.diagnostics.append(Diagnostic(*_split_diagnostic(w)))
            rec.warnings = [str(d) for d in report.diagnostics
                            if d.path == src.rel and d.level == 'warning']
            pages[src.rel] = rec
            report.built.append(src.rel)
        elif src.rel in previous and src.rel not in failed and src not in stale:
            pages[src.rel] = previous[src.rel]
            report.skipped.append(src.rel)
            # Warnings of an unchanged page still count
            for w in previous[src.rel].warnings:
                path, line, level, message = _split_diagnostic(w)
                report.diagnostics.append(Diagnostic(path, line, level, message))

    # A module deleted from disk takes its page with it
    for rel, rec in previous.items():
        if rel not in pages and not (root / rel).exists():
            (out_dir / rec.out).unlink(missing_ok=True)
            report.removed.append(rel)

    copy_static(out_dir, node_modules)
    from .write import write_atomic
    for path, rel in assets:
        write_atomic(out_dir / rel, path.read_bytes())
    report.diagnostics.extend(check_links(pages, out_dir))
    report.pages = pages

    manifest = {'salt': salt, 'pages': {k: asdict(v) for k, v in sorted(pages.items())}}
    write_atomic(manifest_path, json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False))
    return report


def _split_diagnostic(text: str) -> tuple[str, int, str, str]:
    m = re.match(r'^(.*?):(\d+): (\w+): (.*)$', text)
    if m:
        return m.group(1), int(m.group(2)), m.group(3), m.group(4)
    path, level, message = text.split(': ', 2)
    return path, 0, level, message
