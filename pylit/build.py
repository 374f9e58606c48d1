"""
# Build the site

`build()` is a short line of named stages with plain frozen data between them; each stage can
be called alone (the tests do, with data made in memory):

1. **plan**: find the modules and assets, read them, and decide, per language, which pages
   may be stale: a page's *own key* is a hash of its source and (translated) its cache file;
   a salt covers the templates, static files, generator, KaTeX and the options;
2. **parse** the modules whose own key changed, once for all languages, and bring their
   translations up to date;
3. **navigate**: the chapters, breadcrumbs, sidebars, previous/next links and the home page,
   from the front matter and the folders; a page whose navigation changed is stale too (so one
   edited module rebuilds its pages, its chapter's navigation and the home page);
4. **math**: every distinct formula of every stale page in every language, once, with KaTeX;
5. **render** each stale page of each language in a bounded worker (`pylit.pool`): a page that
   fails, recurses or runs out of time or memory is an error for that page alone;
6. **write** the pages, notebooks, static files and assets atomically;
7. **check** the links of every page against the pages and anchors that were built;
8. **manifest**: remember each page's keys, title, anchors and links for the next build.

One run writes every language: with `languages=('en', 'zh', 'ja')` and a translation cache,
English goes to `out_dir/` and each other language to `out_dir/<lang>/`. The older
`lang='zh'` (the command line's `--translate zh`) builds one language into `out_dir`.

Problems are one-line diagnostics (`file:line: warning: ...`); the build goes on, and the exit
status says whether anything was fatal (or, with `--strict`, any warning).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

from . import __version__
from .discover import SourceFile, find_sources
from .nav import Entry, chapter_nav, chapters, home_groups, href as nav_href
from .parse import Module, ParseError, decode_source, parse_module

# (defined beside the writer, so that the command line sees it without importing the build)
from .write import MANIFEST
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
    issues_url: str | None = None
    notebooks: bool = True
    page_timeout: float = 60.0
    page_memory_mb: int = 2048

    def content_options(self) -> dict:
        """The options that change what a page contains."""
        return {'remove_empty_sections': self.remove_empty_sections, 'title_md': self.title_md,
                'repo_url': self.repo_url, 'site_url': self.site_url, 'lang': self.lang,
                'languages': list(self.languages), 'translate_cache_url': self.translate_cache_url,
                'issues_url': self.resolved_issues_url(), 'notebooks': self.notebooks}

    def resolved_issues_url(self) -> str | None:
        """`issues_url`, or the issues of a GitHub `repo_url` (`https://github.com/o/r/...` -> `.../o/r/issues`)."""
        if self.issues_url:
            return self.issues_url
        m = re.match(r'^(https://github\.com/[^/]+/[^/]+)', self.repo_url or '')
        return f'{m.group(1)}/issues' if m else None


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
    own_key: str = ''
    year: int | None = None


@dataclass
class BuildReport:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    formulas: int = 0
    pages: dict = field(default_factory=dict)
    # Per language: the modules whose pages were built, and every page's record
    built_by_lang: dict = field(default_factory=dict)
    pages_by_lang: dict = field(default_factory=dict)
    # Per stage: (wall-clock seconds, CPU seconds of the build and its workers)
    timings: dict = field(default_factory=dict)

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
    return '../' * out.count('/')


def relative_href(from_out: str, to_out: str) -> str:
    """The relative link from one page to another, percent-encoded."""
    return nav_href(from_out, to_out)


def _hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b'\0')
    return h.hexdigest()


def _load_manifest(path: Path, salt: str) -> dict:
    try:
        data = json.loads(path.read_text())
        if data.get('salt') != salt:
            return {}
        return {k: PageRecord(**v) for k, v in data.get('pages', {}).items()}
    except (FileNotFoundError, ValueError, TypeError, AttributeError):
        return {}


# ## Stage 1: plan

@dataclass(frozen=True)
class Target:
    """One language of the build and the folder it goes to."""
    lang: str
    out_dir: Path
    translator: object = None


@dataclass(frozen=True)
class Plan:
    opts: BuildOptions
    sources: tuple[SourceFile, ...]
    assets: tuple[tuple[Path, str], ...]
    raw: dict                    # rel -> bytes
    targets: tuple[Target, ...]
    salts: dict                  # lang -> salt
    previous: dict               # lang -> {rel: PageRecord}
    own_keys: dict               # lang -> {rel: key}
    own_stale: dict              # lang -> frozenset of rels
    node_modules: Path | None = None
    math_setup_error: str | None = None
    diagnostics: tuple[Diagnostic, ...] = ()

    def by_rel(self) -> dict[str, SourceFile]:
        return {s.rel: s for s in self.sources}


def targets_of(opts: BuildOptions, translator_factory: Callable | None) -> tuple[Target, ...]:
    """The languages this build writes: one (`lang`), or every one of `languages` with a cache."""
    out_dir = Path(opts.out_dir)
    if opts.lang != 'en':
        return (Target(opts.lang, out_dir, translator_factory(opts) if translator_factory else None),)
    langs = [l for l in opts.languages if l != 'en']
    if not langs or opts.translate_cache is None:
        return (Target('en', out_dir),)
    if translator_factory is None:
        from .translate.site import TranslatorFactory
        translator_factory = TranslatorFactory
    return (Target('en', out_dir),) + tuple(
        Target(l, out_dir / l, translator_factory(dataclasses.replace(opts, lang=l))) for l in langs)


def _fingerprints(opts: BuildOptions):
    from .mathrender import find_node_modules, katex_version, MathSetupError
    from .page import template_dirs, templates_fingerprint
    try:
        node_modules = find_node_modules()
        katex = katex_version(node_modules)
        error = None
    except MathSetupError as e:
        node_modules, katex, error = None, 'missing', str(e)
    static_hash = _hash(*[p.read_bytes() for p in sorted(STATIC_DIR.rglob('*')) if p.is_file()])
    # The generator's own code counts as its version, so an edited pylit rebuilds every page
    code_hash = _hash(*[p.read_bytes() for p in sorted(Path(__file__).parent.rglob('*.py'))])
    from .translate.keys import KEYS_VERSION
    templates = templates_fingerprint(template_dirs(opts.template_dir))
    base = _hash(__version__, code_hash, str(KEYS_VERSION), templates, static_hash, katex)
    return node_modules, error, base


def plan(opts: BuildOptions, translator_factory: Callable | None = None,
         targets: tuple[Target, ...] | None = None) -> Plan:
    """Find and read the sources; per language, the previous manifest and the pages whose own inputs changed."""
    diagnostics = []
    found = find_sources(list(opts.paths), Path(opts.root))
    for p in found.problems:
        diagnostics.append(Diagnostic(p.rel, 0, p.level, p.message))
    raw = {}
    sources = []
    for src in found.sources:
        try:
            raw[src.rel] = src.path.read_bytes()
            sources.append(src)
        except OSError as e:
            diagnostics.append(Diagnostic(src.rel, 0, 'error', f'cannot read it ({e.strerror}); page skipped'))
    targets = targets if targets is not None else targets_of(opts, translator_factory)
    node_modules, math_error, base = _fingerprints(opts)
    salts, previous, own_keys, own_stale = {}, {}, {}, {}
    for t in targets:
        # (a translated page links to its own notebook when built alone, to the English one in a multi-language build)
        content = dict(opts.content_options(), lang=t.lang, notebooks_of=targets[0].lang)
        salts[t.lang] = _hash(base, json.dumps(content, sort_keys=True))
        previous[t.lang] = _load_manifest(t.out_dir / MANIFEST, salts[t.lang])
        keys = {}
        for src in sources:
            extra = t.translator.fingerprint(src) if t.translator is not None else ''
            keys[src.rel] = _hash(raw[src.rel], extra)
        own_keys[t.lang] = keys
        own_stale[t.lang] = frozenset(
            s.rel for s in sources
            if s.rel not in previous[t.lang] or previous[t.lang][s.rel].own_key != keys[s.rel]
            or not (t.out_dir / s.out).exists())
    return Plan(opts=opts, sources=tuple(sources), assets=found.assets, raw=raw, targets=tuple(targets),
                salts=salts, previous=previous, own_keys=own_keys, own_stale=own_stale,
                node_modules=node_modules, math_setup_error=math_error, diagnostics=tuple(diagnostics))


# ## Stage 2: parse

@dataclass(frozen=True)
class Parsed:
    modules: dict        # rel -> Module
    texts: dict          # rel -> str
    failed: dict         # rel -> Diagnostic
    translations: dict   # lang -> {rel: ModuleTranslation or None}
    diagnostics: tuple = ()


def parse(p: Plan, rels, before: Parsed | None = None, on_module: Callable | None = None) -> Parsed:
    """
    Parse the modules `rels` (once for all languages) and their translations; adds to `before`.
    `on_module(rel, module)` is called as each module is parsed (the build sends its formulas
    to KaTeX then, so that node typesets while Python parses).
    """
    modules = dict(before.modules) if before else {}
    texts = dict(before.texts) if before else {}
    failed = dict(before.failed) if before else {}
    translations = {t.lang: dict(before.translations.get(t.lang, {})) if before else {} for t in p.targets}
    by_rel = p.by_rel()
    for rel in sorted(set(rels)):
        if rel in modules or rel in failed:
            continue
        try:
            text = decode_source(p.raw[rel])
            module = parse_module(text)
        except ParseError as e:
            failed[rel] = Diagnostic(rel, e.lineno, 'error', f'{e.message}; page skipped')
            continue
        texts[rel], modules[rel] = text, module
        if on_module is not None:
            on_module(rel, module)
    for t in p.targets:
        if t.translator is None:
            continue
        for rel in sorted(set(rels)):
            if rel in modules and rel not in translations[t.lang]:
                translations[t.lang][rel] = t.translator.for_module(by_rel[rel], modules[rel])
    return Parsed(modules, texts, failed, translations, tuple(failed.values()))


# ## Stage 3: navigate

@dataclass(frozen=True)
class Navigation:
    entries: dict        # lang -> {rel: Entry}
    chapters: dict       # chapter folder -> rels in reading order
    parents: dict        # rel -> tuple of index rels, the root first
    keys: dict           # lang -> {rel: full key}
    stale: dict          # lang -> tuple of rels to render


def entry_of(p: Plan, parsed: Parsed, lang: str, src: SourceFile) -> Entry | None:
    """What the navigation shows of a page: from its parsed source (translated), or as built before."""
    if src.rel in parsed.failed:
        return None
    module = parsed.modules.get(src.rel)
    if module is None:
        rec = p.previous[lang].get(src.rel)
        return Entry(src.rel, src.out, rec.title, rec.summary, rec.year) if rec else None
    title, summary = page_title(module, Path(src.rel).name, p.opts.title_md), module.summary
    translation = parsed.translations.get(lang, {}).get(src.rel)
    if translation is not None:
        title, summary = translation.title(title), translation.summary(summary)
    return Entry(src.rel, src.out, title, summary, module.year)


def nav_keys(own: dict, ent: dict, chapter_map: dict, parents: dict, rels) -> dict:
    """
    The full key of each page: its own key and what its navigation shows (its parents'
    titles, its chapter's pages); the home page lists every page, so it changes with any.
    """
    sig = {r: f'{e.rel}\0{e.out}\0{e.title}\0{e.summary}\0{e.year}' for r, e in ent.items()}
    chapter_sig = {ch: _hash(*[sig.get(r, '') for r in members]) for ch, members in chapter_map.items()}
    keys = {}
    for rel in rels:
        folder = posixpath.dirname(rel)
        parts = [own[rel], chapter_sig.get(folder, ''),
                 sig.get(posixpath.join(folder, '__init__.py') if folder else '__init__.py', '')]
        parts += [sig.get(r, '') for r in parents[rel]]
        if rel == '__init__.py':
            parts += [sig[r] + own[r] for r in rels if r in sig]
        keys[rel] = _hash(*parts)
    return keys


def navigate(p: Plan, parsed: Parsed) -> tuple[Navigation, Parsed]:
    """The navigation of every page; parses the pages that must be rebuilt for their navigation alone."""
    rels = [s.rel for s in p.sources if s.rel not in parsed.failed]
    by_rel = p.by_rel()
    outs = {s.rel: s.out for s in p.sources}
    index_texts = {s.rel: p.raw[s.rel].decode('utf-8', 'replace') for s in p.sources if s.is_index}
    chapter_map = chapters(rels, index_texts, outs)
    index_of = {s.folder: s.rel for s in p.sources if s.is_index and s.rel not in parsed.failed}
    parents = {}
    for src in p.sources:
        parts = src.folder.split('/') if src.folder else []
        own = len(parts) - 1 if src.is_index else len(parts)
        chain = [index_of['/'.join(parts[:i])] for i in range(0, own + 1)
                 if '/'.join(parts[:i]) in index_of and index_of['/'.join(parts[:i])] != src.rel]
        parents[src.rel] = tuple(chain)
    # Entries of the pages that were parsed, or may need to be (no previous record)
    need = set()
    for t in p.targets:
        need |= {r for r in rels if r not in parsed.modules and r not in p.previous[t.lang]}
    if need:
        parsed = parse(p, need, parsed)
    entries, keys, stale = {}, {}, {}
    for t in p.targets:
        ent = {}
        for rel in rels:
            e = entry_of(p, parsed, t.lang, by_rel[rel])
            if e is not None:
                ent[rel] = e
        entries[t.lang] = ent

        keys[t.lang] = nav_keys(p.own_keys[t.lang], ent, chapter_map, parents, rels)
        prev = p.previous[t.lang]
        stale[t.lang] = tuple(r for r in rels
                              if r in p.own_stale[t.lang] or r not in prev or prev[r].key != keys[t.lang][r])
    more = {r for rs in stale.values() for r in rs if r not in parsed.modules}
    if more:
        parsed = parse(p, more, parsed)
    return Navigation(entries, chapter_map, parents, keys, stale), parsed


# ## Stage 4: math

@dataclass(frozen=True)
class MathResult:
    rendered: dict            # (tex, display) -> (html or None, error or None)
    page_math: dict           # (lang, rel) -> tuple of (tex, display)
    diagnostics: tuple = ()

    @property
    def count(self) -> int:
        return len(self.rendered)


# KaTeX renders these as red text without an error unless it trusts the input
UNTRUSTED_COMMANDS = re.compile(r'\\(href|url|includegraphics|htmlClass|htmlId|htmlStyle|htmlData)(?![a-zA-Z])')


def katex_message(error: str) -> str:
    """KaTeX's error on one line, without the underlined copy of the formula it appends."""
    first = error.splitlines()[0] if error else 'unknown error'
    first = first.replace('KaTeX parse error: ', '')
    return re.sub(r'(at position \d+):.*$', r'\1', first).replace('\u0332', '')


def module_formulas(module: Module) -> tuple:
    """`(tex, display, line)` of every formula in a module's notes, in order."""
    from .notes import find_math
    return tuple((f.tex, f.display, s.line_of(f.start)) for s in module.sections for f in find_math(s.docs))


def math(p: Plan, parsed: Parsed, nav: Navigation, render: Callable | None = None, pool=None,
         found: dict | None = None) -> MathResult:
    """
    Every distinct formula of the stale pages of every language, rendered once (by `render`,
    or by `pool`, a `KatexPool` started early, or by a new `KatexPool`). `found` holds the
    `module_formulas` of the modules the build already looked through, by path.
    """
    if not any(nav.stale.values()):
        return MathResult({}, {}, ())
    found = found or {}
    page_math, where, english = {}, {}, {}
    for t in p.targets:
        for rel in nav.stale[t.lang]:
            module = parsed.modules.get(rel)
            if module is None:
                continue
            if rel not in english:
                # The English formulas of a module, found once for all its languages
                formulas = found[rel] if rel in found else module_formulas(module)
                for tex, display, line in formulas:
                    where.setdefault((tex, display), []).append((rel, line))
                english[rel] = tuple((tex, display) for tex, display, _ in formulas)
            needed = list(english[rel])
            if t.translator is not None:
                needed += t.translator.formulas(module)
            page_math[(t.lang, rel)] = tuple(needed)
    formulas = list(dict.fromkeys(k for needed in page_math.values() for k in needed))
    diagnostics, rendered = [], {}
    for key in formulas:
        m = UNTRUSTED_COMMANDS.search(key[0])
        if m:
            for rel, line in dict.fromkeys(where.get(key, [])):
                diagnostics.append(Diagnostic(rel, line, 'warning',
                                              f'formula {key[0][:60]!r} uses \\{m.group(1)}, which the site does not '
                                              f'render (it shows as red text); put links and pictures in the Markdown'))
    if formulas:
        if render is None and p.math_setup_error:
            diagnostics.append(Diagnostic('<build>', 0, 'error', p.math_setup_error))
            return MathResult({}, page_math, tuple(diagnostics))
        if render is None and pool is not None:
            results = pool.render(formulas)
        elif render is None:
            from .mathrender import KatexPool
            jobs = p.opts.jobs or os.cpu_count() or 1
            with KatexPool(p.node_modules, processes=min(jobs, max(1, len(formulas) // 200))) as new_pool:
                results = new_pool.render(formulas)
        else:
            results = render(formulas)
        for key, r in zip(formulas, results):
            rendered[key] = (r.html, r.error)
            if r.error:
                message = katex_message(r.error)
                for rel, line in dict.fromkeys(where.get(key, [])):
                    diagnostics.append(Diagnostic(rel, line, 'warning', f'KaTeX cannot render {key[0][:60]!r}: {message}; fix the TeX'))
    return MathResult(rendered, page_math, tuple(diagnostics))


# ## Stage 5: render

@dataclass(frozen=True)
class Rendered:
    pages: dict       # (lang, rel) -> RenderedPage
    diagnostics: tuple = ()


def site_settings(opts: BuildOptions, lang: str) -> dict:
    return {'remove_empty_sections': opts.remove_empty_sections, 'repo_url': opts.repo_url,
            'site_url': opts.site_url, 'lang': lang, 'languages': list(opts.languages),
            'issues_url': opts.resolved_issues_url()}


def page_tasks(p: Plan, parsed: Parsed, nav: Navigation, m: MathResult) -> list:
    """One `PageTask` per stale page and language."""
    tasks = []
    if not any(nav.stale.values()):
        return tasks
    from .render import PageTask
    by_rel = p.by_rel()
    template_dir = str(p.opts.template_dir) if p.opts.template_dir else None
    notebook_lang = p.targets[0].lang
    notebooks = p.opts.notebooks and _has_nbformat()
    for t in p.targets:
        ent = nav.entries[t.lang]
        site = site_settings(p.opts, t.lang)
        for rel in nav.stale[t.lang]:
            if rel not in parsed.modules or rel not in ent:
                continue
            src = by_rel[rel]
            crumbs = tuple((ent[r].title, relative_href(src.out, ent[r].out)) for r in nav.parents[rel] if r in ent)
            wanted = m.page_math.get((t.lang, rel), ())
            notebook = None
            if notebooks and not src.is_index:
                nb_out = src.out[:-len('.html')] + '.ipynb'
                nb = relative_href(src.out, nb_out)
                # A translated site links to the notebook of the English site, one folder up
                notebook = nb if t.lang == notebook_lang else relative_root(src.out) + '../' + nb_out
            tasks.append(PageTask(
                src=src, lang=t.lang, text=parsed.texts[rel], module=parsed.modules[rel],
                title=ent[rel].title, summary=ent[rel].summary, breadcrumbs=crumbs,
                math={k: m.rendered[k] for k in wanted if k in m.rendered}, site=site,
                translation=parsed.translations.get(t.lang, {}).get(rel),
                nav=chapter_nav(rel, src.out, nav.chapters, ent),
                home=tuple(home_groups(src.out, nav.chapters, ent)) if src.out == 'index.html' else (),
                notebook=notebook, make_notebook=bool(notebook) and t.lang == notebook_lang,
                template_dir=template_dir, out_path=str(t.out_dir / src.out)))
    return tasks


def _has_nbformat() -> bool:
    try:
        import nbformat  # noqa: F401
        return True
    except ImportError:
        return False


def render(p: Plan, parsed: Parsed, nav: Navigation, m: MathResult) -> Rendered:
    """Render every stale page of every language, each in a bounded worker."""
    tasks = page_tasks(p, parsed, nav, m)
    if not tasks:
        return Rendered({}, ())
    from .pool import Failure, run_bounded
    from .render import render_module, PageError, preload
    # Import and compile once, before the workers fork, so that a page's time is its own
    preload(tasks[0].template_dir, notebooks=any(t.make_notebook for t in tasks))
    # One job per module: its languages share the highlighted code and the English notes
    groups: dict[str, list] = {}
    for task in tasks:
        groups.setdefault(task.src.rel, []).append(task)
    jobs = max(1, p.opts.jobs or os.cpu_count() or 1)
    modules = [tuple(g) for g in groups.values()]
    results = run_bounded(render_module, modules, jobs=jobs, timeout=p.opts.page_timeout,
                          memory=p.opts.page_memory_mb << 20)
    pages, diagnostics = {}, []
    if p.opts.notebooks and tasks and not _has_nbformat():
        diagnostics.append(Diagnostic('<build>', 0, 'warning', 'nbformat is not installed, so no notebooks were '
                                      'written: pip install nbformat==5.11.1 (or pass --no_notebooks)'))
    for group, r in zip(modules, results):
        if isinstance(r, Failure):
            reason = r.reason
            if reason.startswith(PageError.__name__ + ': '):
                reason = reason[len(PageError.__name__) + 2:].rsplit(' (at ', 1)[0]
            else:
                reason = f'cannot render the page: {reason}; page skipped'
            diagnostics.append(Diagnostic(group[0].src.rel, 0, 'error', reason))
        else:
            for task, page in zip(group, r):
                pages[(task.lang, task.src.rel)] = page
    return Rendered(pages, tuple(diagnostics))


# ## Stage 6: write

def static_files(node_modules: Path | None) -> list[tuple[str, bytes]]:
    """`(path under the site, bytes)` of our CSS and script, Pygments' colours, and KaTeX's CSS and fonts."""
    from .highlight import pygments_css
    files = [((Path('static') / p.relative_to(STATIC_DIR)).as_posix(), p.read_bytes())
             for p in sorted(STATIC_DIR.rglob('*')) if p.is_file()]
    css = (pygments_css('default', '.highlight') + '\n' +
           pygments_css('github-dark', ':root[data-theme="dark"] .highlight') + '\n' +
           '@media (prefers-color-scheme: dark) {\n' +
           pygments_css('github-dark', ':root:not([data-theme="light"]) .highlight') + '\n}\n')
    files.append(('static/pygments.css', css.encode('utf-8')))
    if node_modules is not None:
        dist = node_modules / 'katex' / 'dist'
        files.append(('static/katex/katex.min.css', (dist / 'katex.min.css').read_bytes()))
        files += [(f'static/katex/fonts/{p.relative_to(dist / "fonts").as_posix()}', p.read_bytes())
                  for p in sorted((dist / 'fonts').rglob('*.woff2')) if p.is_file()]
    return files


def copy_static(out_dir: Path, node_modules: Path | None, files: list | None = None, like: Path | None = None):
    """
    Our CSS and script, Pygments' colours, and KaTeX's CSS and fonts, all served locally;
    with `like`, another site folder that has them already, as links to its files.
    """
    from .write import link_atomic, write_atomic
    for rel, data in (files if files is not None else static_files(node_modules)):
        if like is not None:
            link_atomic(like / rel, out_dir / rel, data)
        else:
            write_atomic(out_dir / rel, data)


@dataclass(frozen=True)
class Written:
    records: dict     # lang -> {rel: PageRecord}, every page of the site
    built: dict       # lang -> tuple of rels written
    removed: tuple = ()
    diagnostics: tuple = ()


def write(p: Plan, parsed: Parsed, nav: Navigation, rendered: Rendered) -> Written:
    """Write the rendered pages and notebooks; keep the records of the unchanged pages; remove deleted pages."""
    from .write import commit_staged, link_atomic, write_atomic
    records, built, removed = {}, {}, []
    # Files every language has alike are written once and linked from the other languages
    copies, static, static_done = {}, None, None
    for t in p.targets:
        recs, done = {}, []
        prev = p.previous[t.lang]
        for src in p.sources:
            r = rendered.pages.get((t.lang, src.rel))
            if r is not None:
                for tmp, path in r.staged:
                    commit_staged(tmp, path)
                if r.html is not None:
                    write_atomic(t.out_dir / src.out, r.html)
                if r.notebook is not None:
                    write_atomic(t.out_dir / (src.out[:-len('.html')] + '.ipynb'), r.notebook)
                if not p.opts.repo_url:
                    # Without a repository address the page's "source" link goes to a copy of its module
                    copy = t.out_dir / posixpath.dirname(src.out) / posixpath.basename(src.rel)
                    if src.rel in copies:
                        link_atomic(copies[src.rel], copy, parsed.texts[src.rel])
                    else:
                        write_atomic(copy, parsed.texts[src.rel])
                        copies[src.rel] = copy
                e = nav.entries[t.lang][src.rel]
                recs[src.rel] = PageRecord(key=nav.keys[t.lang][src.rel], out=src.out, title=e.title,
                                           summary=e.summary, anchors=list(r.anchors),
                                           links=[list(l) for l in r.links], warnings=list(r.warnings),
                                           own_key=p.own_keys[t.lang][src.rel], year=e.year)
                done.append(src.rel)
            elif (src.rel in prev and src.rel not in parsed.failed and src.rel not in nav.stale[t.lang]):
                recs[src.rel] = prev[src.rel]
        for rel, rec in prev.items():
            if rel not in recs and not (Path(p.opts.root) / rel).exists():
                (t.out_dir / rec.out).unlink(missing_ok=True)
                if rec.out.endswith('.html'):
                    (t.out_dir / (rec.out[:-5] + '.ipynb')).unlink(missing_ok=True)
                removed.append(rel)
        # The static files change only with the salt (it covers them): a stamp saves copying them again
        stamp = t.out_dir / 'static' / '.pylit-static'
        try:
            fresh = stamp.read_text() == p.salts[t.lang]
        except OSError:
            fresh = False
        if not fresh:
            if static is None:
                static = static_files(p.node_modules)
            copy_static(t.out_dir, p.node_modules, static, like=static_done)
            static_done = static_done or t.out_dir
            write_atomic(stamp, p.salts[t.lang])
        for path, rel in p.assets:
            write_atomic(t.out_dir / rel, path.read_bytes())
        records[t.lang], built[t.lang] = recs, tuple(done)
    return Written(records, built, tuple(dict.fromkeys(removed)))


# ## Stage 7: check

def check_links(pages: dict[str, PageRecord], out_dir: Path) -> list[Diagnostic]:
    """Every relative link in the notes must lead to a built page (and anchor) or file."""
    by_out = {rec.out: rec for rec in pages.values()}
    found = []
    for rel, rec in sorted(pages.items()):
        for href, line in rec.links:
            if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', href) or href.startswith('/'):
                continue
            path, _, anchor = href.partition('#')
            # Links are URLs: `with%20space.html` is the page `with space.html`
            path, anchor = unquote(path), unquote(anchor)
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


def check(p: Plan, written: Written) -> tuple[Diagnostic, ...]:
    found = []
    for t in p.targets:
        found += check_links(written.records[t.lang], t.out_dir)
    return tuple(found)


# ## Stage 8: manifest

def manifest(p: Plan, written: Written, diagnostics, links=(), parsed: Parsed | None = None,
             nav: Navigation | None = None) -> dict:
    """
    Write each language's manifest: every page's keys, title, anchors, links and the warnings
    of its source (so an unchanged page still reports them). Returns `{lang: {rel: PageRecord}}`.
    """
    from .write import write_atomic
    by_rel = p.by_rel()
    link_set = set(links)
    records = {}
    for t in p.targets:
        recs = written.records[t.lang]
        if not written.built[t.lang] and not written.removed and recs.keys() == p.previous[t.lang].keys():
            # Nothing changed: the manifest on disk is this one
            records[t.lang] = recs
            continue
        keys = None
        if t.translator is not None and nav is not None:
            # Synchronising may have rewritten cache files: remember the pages by their new keys
            own = {rel: _hash(p.raw[rel], t.translator.fingerprint(by_rel[rel])) for rel in p.own_keys[t.lang]}
            rels = [r for r in own if r in nav.parents and r not in parsed.failed]
            keys = nav_keys(own, nav.entries[t.lang], nav.chapters, nav.parents, rels)
        for rel in written.built[t.lang]:
            rec = recs[rel]
            rec.warnings = [str(d) for d in diagnostics
                            if d.path == rel and d.level == 'warning' and d not in link_set]
            if keys is not None:
                rec.own_key, rec.key = own[rel], keys[rel]
        data = {'salt': p.salts[t.lang], 'pages': {k: _record_dict(v) for k, v in sorted(recs.items())}}
        # Compact: without `indent` the json module encodes in C, several times faster
        write_atomic(t.out_dir / MANIFEST, json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(',', ':')))
        records[t.lang] = recs
    return records


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(PageRecord))


def _record_dict(rec: PageRecord) -> dict:
    """`asdict(rec)` without its deep copy (the manifest only serialises it)."""
    return {name: getattr(rec, name) for name in _RECORD_FIELDS}


# ## The build

def build(opts: BuildOptions, translator_factory: Callable | None = None, katex=None) -> BuildReport:
    """
    Build the pages of `opts.paths` into `opts.out_dir`; see the module notes for the stages.
    `katex` is a `KatexPool` the caller started early (the command line does for a cold build,
    so that node starts while Python imports); the build closes it.
    """
    from contextlib import ExitStack
    from .write import OutputLock, remove_stale_temps
    import time
    try:
        import resource

        def cpu():
            # This process and its finished workers (and KaTeX's node processes)
            return sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime
                       for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    except ImportError:
        cpu = time.process_time
    clock = [time.perf_counter(), cpu()]
    timings = {}

    def lap(name):
        now, used = time.perf_counter(), cpu()
        timings[name] = (now - clock[0], used - clock[1])
        clock[0], clock[1] = now, used
    with ExitStack() as locks:
        if katex is not None:
            locks.enter_context(katex)
        targets = targets_of(opts, translator_factory)
        for t in targets:
            locks.enter_context(OutputLock(t.out_dir))
            # Another build's language folder inside ours is left to that build
            remove_stale_temps(t.out_dir, marker=MANIFEST)
        p = plan(opts, translator_factory, targets)
        lap('plan')
        pool = None
        if katex is not None and any(p.own_stale.values()) and not p.math_setup_error:
            pool = katex
        elif katex is not None:
            katex.close()
        elif any(p.own_stale.values()) and p.node_modules is not None and not p.math_setup_error:
            # Start KaTeX now: node loads it while we parse
            from .mathrender import KatexPool, MathSetupError
            try:
                # One process: KaTeX's start and warm-up (most of its time) are paid once, and
                # it typesets on a core of its own while this process parses
                pool = locks.enter_context(KatexPool(p.node_modules, processes=1))
            except MathSetupError:
                pool = None
        prefetch, found = None, {}
        if pool is not None:
            def prefetch(rel, module):
                found[rel] = module_formulas(module)
                pool.prefetch([(tex, display) for tex, display, _ in found[rel]])
        parsed = parse(p, set().union(*p.own_stale.values()), on_module=prefetch)
        if pool is not None:
            pool.prefetch((), flush=True)
        lap('parse')
        nav, parsed = navigate(p, parsed)
        lap('navigate')
        m = math(p, parsed, nav, pool=pool, found=found)
        if pool is not None:
            # Before the render workers fork: they must not hold node's pipes open
            pool.close()
        lap('math')
        rendered = render(p, parsed, nav, m)
        lap('render')
        written = write(p, parsed, nav, rendered)
        if rendered.diagnostics:
            # A worker that was stopped (out of time or memory) may have left a page half staged
            for t in targets:
                remove_stale_temps(t.out_dir, marker=MANIFEST)
        lap('write')
        links = check(p, written)
        lap('check')
        report = report_of(p, parsed, m, rendered, written, links)
        manifest(p, written, report.diagnostics, links, parsed, nav)
        lap('manifest')
    report.timings = timings
    return report


def report_of(p: Plan, parsed: Parsed, m: MathResult, rendered: Rendered, written: Written, links) -> BuildReport:
    """What the build did, with each diagnostic once (a problem of a source is reported once, not per language)."""
    report = BuildReport()
    diags = list(p.diagnostics) + list(parsed.diagnostics) + list(m.diagnostics) + list(rendered.diagnostics)
    for t in p.targets:
        if t.translator is not None:
            diags += t.translator.diagnostics()
    for lang, recs in written.records.items():
        for rel, rec in recs.items():
            # The workers' warnings of the built pages, and the remembered warnings of unchanged pages
            if rel in written.built[lang]:
                diags += [Diagnostic(*_split_diagnostic(w)) for w in rendered.pages[(lang, rel)].warnings]
            else:
                diags += [Diagnostic(*_split_diagnostic(w)) for w in rec.warnings]
    diags += list(links)
    report.diagnostics = list(dict.fromkeys(diags))
    built_any = {rel for b in written.built.values() for rel in b}
    report.built = [s.rel for s in p.sources if s.rel in built_any]
    report.skipped = [s.rel for s in p.sources if s.rel not in built_any and s.rel not in parsed.failed
                      and all(s.rel in written.records[t.lang] for t in p.targets)]
    report.removed = list(written.removed)
    report.formulas = m.count
    report.pages = written.records[p.targets[0].lang]
    report.pages_by_lang = dict(written.records)
    report.built_by_lang = {lang: list(b) for lang, b in written.built.items()}
    return report


def _split_diagnostic(text: str) -> tuple[str, int, str, str]:
    m = re.match(r'^(.*?):(\d+): (\w+): (.*)$', text)
    if m:
        return m.group(1), int(m.group(2)), m.group(3), m.group(4)
    path, level, message = text.split(': ', 2)
    return path, 0, level, message
