"""
# Fill the page template

Pages are Jinja2 templates (`pylit/templates/page.html`, or a folder given with `-t`).
Autoescaping is on: the rendered notes and code are marked safe explicitly with `Markup`,
everything else (titles, summaries, URLs) is escaped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from markupsafe import Markup

DEFAULT_TEMPLATES = Path(__file__).parent / 'templates'

# The few words of the page frame, per language
UI = {
    'en': {'source': 'View source', 'languages': 'Languages', 'link_to_section': 'Link to this section',
           'help_translate': 'Help translate this page', 'home': 'Home',
           'translated': '{percent}% of this page is translated'},
    'zh': {'source': '查看源代码', 'languages': '语言', 'link_to_section': '链接到本节',
           'help_translate': '帮助翻译本页', 'home': '首页',
           'translated': '本页已翻译 {percent}%'},
    'ja': {'source': 'ソースを見る', 'languages': '言語', 'link_to_section': 'この節へのリンク',
           'help_translate': 'このページの翻訳に協力する', 'home': 'ホーム',
           'translated': 'このページの {percent}% が翻訳済みです'},
}

LANGUAGE_NAMES = {'en': 'English', 'zh': '中文', 'ja': '日本語'}


def ui_strings(lang: str) -> dict:
    return {**UI['en'], **UI.get(lang, {})}


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


class Templates:
    """The Jinja2 environment: the `-t` folder first, then the defaults."""

    def __init__(self, template_dir: Path | None = None):
        dirs = [str(template_dir)] if template_dir else []
        dirs.append(str(DEFAULT_TEMPLATES))
        self.dirs = dirs
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(dirs),
                                      autoescape=True, undefined=jinja2.StrictUndefined,
                                      keep_trailing_newline=True)

    def fingerprint(self) -> str:
        """A hash of every template file, for the incremental build."""
        h = hashlib.sha256()
        for d in self.dirs:
            for p in sorted(Path(d).rglob('*')):
                if p.is_file():
                    h.update(p.relative_to(d).as_posix().encode() + b'\0' + p.read_bytes())
        return h.hexdigest()

    def render(self, ctx: PageContext, template: str = 'page.html') -> str:
        values = {k: getattr(ctx, k) for k in ctx.__dataclass_fields__ if k != 'extra'}
        values.update(ctx.extra)
        values['ui'] = ui_strings(ctx.lang)
        return self.env.get_template(template).render(**values)
