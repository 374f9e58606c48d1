"""
---
title: Translated pages
summary: >
  How a translated build uses the translation cache: the cache of each module is brought up to
  date with the current source, and each section shows its translation where there is one.
---

# Translated pages

A translated build (`pylit --translate zh --translate_cache DIR ...`) renders the same pages as
the English build, with three differences:

* the cache file of each module is synchronised with the current source first: new chunks are
  added (mapped to themselves, that is untranslated) and translations of chunks that no longer
  exist move to the `.obsolete.json` sidecar. With the build option `write_caches=False` (the
  live preview, `pylit --no_write_caches`) nothing is written: new chunks show in English and
  the files stay as they are, so editing English under `make serve` never touches them;
* the title and summary, and each section's notes, show the translation where there is a valid
  one, and the English rendering otherwise;
* the page says how much of it is translated, with a link to its cache file for contributors.

A cache file that cannot be read is reported as an error and left untouched; that page is built
in English.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..page import ui_strings
from .apply import TranslationWarning, needs_translation, translate_section, translate_text, validate
from .cache import CacheError, CacheWriteError, TranslationCache
from .keys import Fragment, module_chunks, module_keys, summary_key, title_key


def render_fragment(fragment: Fragment, render_math) -> str:
    """The HTML a placeholder stands for, rendered from the current source like the English page."""
    from ..notes import highlight_inline_code
    if fragment.kind == 'code':
        return highlight_inline_code(fragment.source)
    if fragment.kind == 'math':
        return render_math(fragment.source.strip(), False)
    if fragment.kind == 'display':
        return render_math(fragment.source.strip(), True)
    if fragment.kind == 'align':
        return render_math(fragment.source, True)
    if fragment.kind == 'fenced':
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer, get_lexer_by_name
        from pygments.util import ClassNotFound
        try:
            lexer = get_lexer_by_name(fragment.lang) if fragment.lang else PythonLexer()
        except ClassNotFound:
            lexer = PythonLexer()
        return highlight(fragment.source, lexer, HtmlFormatter(cssclass='highlight'))
    if fragment.kind == 'image':
        m = re.match(r'!\[([^\]]*)\]\(([^)\s]*)', fragment.source)
        alt, src = (m.group(1), m.group(2)) if m else ('', '')
        return f'<img src="{html.escape(src, quote=True)}" alt="{html.escape(alt, quote=True)}">'
    return html.escape(fragment.source)


def fragment_formulas(fragment: Fragment) -> tuple[str, bool] | None:
    """The `(tex, display)` a fragment needs rendered, if it is math."""
    if fragment.kind == 'math':
        return fragment.source.strip(), False
    if fragment.kind == 'display':
        return fragment.source.strip(), True
    if fragment.kind == 'align':
        return fragment.source, True
    return None


@dataclass
class ModuleTranslation:
    """The translations of one module, sent to the worker that renders its page."""
    lang: str
    cache_file: str
    translations: dict
    total: int
    translated: int
    cache_url: str | None
    title_text: str | None = None
    summary_text: str | None = None

    def title(self, english: str) -> str:
        return self.title_text or english

    def summary(self, english: str | None) -> str | None:
        return self.summary_text or english

    def section_html(self, section, render_math) -> str | None:
        return translate_section(section, self.translations,
                                 lambda f: render_fragment(f, render_math))

    def page_status(self, site) -> dict:
        percent = 100 if self.total == 0 else int(100 * self.translated / self.total)
        text = ui_strings(self.lang)['translated'].format(percent=percent)
        return {'percent': percent, 'text': text, 'href': self.cache_url}


class TranslatorFactory:
    """Made once per translated build; gives each module its `ModuleTranslation`."""

    def __init__(self, opts):
        self.lang = opts.lang
        self.cache_dir = Path(opts.translate_cache)
        self.cache_url = getattr(opts, 'translate_cache_url', None)
        # The live preview renders with the caches as they are and writes nothing
        self.write_caches = getattr(opts, 'write_caches', True)
        self._diagnostics = []

    @staticmethod
    def module_path(src) -> str:
        return str(PurePosixPath(src.rel).with_suffix(''))

    def cache(self, src) -> TranslationCache:
        return TranslationCache(self.cache_dir, self.module_path(src), self.lang)

    def fingerprint(self, src) -> str:
        """The bytes of the module's cache file, so that editing it rebuilds the page."""
        path = self.cache(src).path
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError:
            return 'none'

    def formulas(self, module) -> list[tuple[str, bool]]:
        """The formulas the placeholders of the module's chunks stand for."""
        found = []
        for chunk in module_chunks(module):
            for f in chunk.fragments:
                tex = fragment_formulas(f)
                if tex is not None:
                    found.append(tex)
        return found

    def for_module(self, src, module) -> ModuleTranslation | None:
        from ..build import Diagnostic
        cache = self.cache(src)
        rel_file = cache.path.as_posix()
        filename = PurePosixPath(src.rel).name
        try:
            values = cache.sync(module_keys(module, filename), write=self.write_caches).translations
        except CacheWriteError as e:
            # A read-only cache folder: the page still uses the translations, the file stays
            self._diagnostics.append(Diagnostic(str(e.path), 0, 'warning', f'{e.message}; the cache file was not updated'))
            values = e.result.translations
        except CacheError as e:
            self._diagnostics.append(Diagnostic(str(e.path), e.line, 'error',
                                                f'{e.message}; the page is built in English and the file is left as it is',
                                                column=e.column))
            return None
        warnings: list[TranslationWarning] = []
        title = translate_text(title_key(module, filename), values, cache_file=rel_file, warnings=warnings)
        summary = translate_text(summary_key(module), values, cache_file=rel_file, warnings=warnings)
        keys = module_keys(module, filename)
        done = 0
        for key in keys:
            value = values.get(key, key)
            if value == key:
                # A chunk of only math or code is right as it is
                done += not needs_translation(key)
                continue
            reason = validate(key, value)
            if reason is None:
                done += 1
            elif key not in (title_key(module, filename), summary_key(module)):
                warnings.append(TranslationWarning(rel_file, key, reason))
        for w in warnings:
            self._diagnostics.append(Diagnostic(rel_file, 0, 'warning', str(w).split(': ', 1)[1]))
        url = f'{self.cache_url.rstrip("/")}/{self.module_path(src)}.{self.lang}.json' if self.cache_url else None
        return ModuleTranslation(lang=self.lang, cache_file=rel_file, translations=values,
                                 total=len(keys), translated=done, cache_url=url,
                                 title_text=title, summary_text=summary)

    def diagnostics(self) -> list:
        return list(self._diagnostics)
