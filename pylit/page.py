"""
# Fill the page template

Pages are Jinja2 templates (`pylit/templates/page.html`, or a folder given with `-t`).
Autoescaping is on: the rendered notes and code are marked safe explicitly with `Markup`,
everything else (titles, summaries, URLs) is escaped.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

DEFAULT_TEMPLATES = Path(__file__).parent / 'templates'

MESSAGES_DIR = Path(__file__).parent / 'messages'


@functools.lru_cache(maxsize=None)
def _messages(lang: str) -> dict:
    """The page-frame strings of one language from `pylit/messages/<lang>.json` (`{}` if none)."""
    path = MESSAGES_DIR / f'{lang}.json'
    if lang != Path(lang).name or not path.is_file():
        return {}
    return json.loads(path.read_text(encoding='utf-8'))


@functools.lru_cache(maxsize=None)
def ui_strings(lang: str) -> dict:
    """
    The few words of the page frame in `lang` (`zh_CN` counts as zh): its message file over
    the English one, so a string not yet translated shows in English. (One dict per
    language, shared: read it, never change it.)
    """
    from .languages import get
    known = get(lang)
    code = known.code if known else lang
    return {**_messages('en'), **_messages(code)}


def html_lang(code: str) -> str:
    """The `lang` attribute of a language's pages (`zh` -> `zh-Hans`), from `pylit.languages`."""
    from .languages import get
    lang = get(code)
    return lang.html_lang if lang else code


class _LanguageNames(dict):
    """`LANGUAGE_NAMES[code]`: a language's name in its own script, from `pylit.languages`."""

    def __missing__(self, code):
        from .languages import get
        lang = get(code)
        if lang is None:
            raise KeyError(code)
        return lang.name

    def get(self, code, default=None):
        try:
            return self[code]
        except KeyError:
            return default


LANGUAGE_NAMES = _LanguageNames()

# Kept for code that reads the strings directly: English and every language with a message file
UI = {p.stem: _messages(p.stem) for p in sorted(MESSAGES_DIR.glob('*.json'))}


@dataclass(frozen=True)
class Link:
    title: str
    href: str


@dataclass(frozen=True)
class PageSection:
    anchor: str
    notes: Markup
    code: Markup


@dataclass(frozen=True)
class PageContext:
    """Everything the template sees."""
    title: str
    summary: str | None
    lang: str
    root: str
    sections: tuple[PageSection, ...]
    breadcrumbs: tuple[Link, ...]
    source_url: str | None
    source_rel: str
    canonical: str | None
    alternates: tuple = ()
    languages: tuple = ()
    translation_status: dict | None = None
    extra: dict = field(default_factory=dict)


def template_dirs(template_dir: Path | None = None) -> list[str]:
    """The template folders, the `-t` folder first, then the defaults."""
    return ([str(template_dir)] if template_dir else []) + [str(DEFAULT_TEMPLATES)]


def templates_fingerprint(dirs: list[str]) -> str:
    """A hash of every template file, for the incremental build (without loading Jinja)."""
    h = hashlib.sha256()
    for d in dirs:
        for p in sorted(Path(d).rglob('*')):
            if p.is_file():
                h.update(p.relative_to(d).as_posix().encode() + b'\0' + p.read_bytes())
    return h.hexdigest()


class Templates:
    """The Jinja2 environment: the `-t` folder first, then the defaults."""

    def __init__(self, template_dir: Path | None = None):
        dirs = template_dirs(template_dir)
        self.dirs = dirs
        import jinja2
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(dirs),
                                      autoescape=True, undefined=jinja2.StrictUndefined,
                                      keep_trailing_newline=True)

    def fingerprint(self) -> str:
        """A hash of every template file, for the incremental build."""
        return templates_fingerprint(self.dirs)

    def render(self, ctx: PageContext, template: str = 'page.html') -> str:
        values = {k: getattr(ctx, k) for k in ctx.__dataclass_fields__ if k != 'extra'}
        values.update(ctx.extra)
        values['ui'] = ui_strings(ctx.lang)
        # `<html lang>` and every hreflang use the languages table's BCP 47 tag (zh -> zh-Hans);
        # the language codes stay those of the folders and cache files
        values['html_lang'] = html_lang(ctx.lang)
        for name in ('alternates', 'languages'):
            values[name] = tuple(dict(v, lang=html_lang(v['lang'])) if isinstance(v, dict) and 'lang' in v else v
                                 for v in values[name])
        return self.env.get_template(template).render(**values)
