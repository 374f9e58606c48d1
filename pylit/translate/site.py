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
* a chunk whose English changed since it was translated shows its old translation (from the
  `.obsolete.json` sidecar: the suggestion `translate status` gives for it), checked and filled
  like a current one, in a box that says it is outdated and holds the English behind a toggle;
  if its placeholders no longer match, the chunk shows English;
* the page says how much of it is translated, with a link to its cache file for contributors and
  one to the language's translation-status page.

A cache file that cannot be read is reported as an error and left untouched; that page is built
in English.
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..page import ui_strings
from .apply import TranslationWarning, needs_translation, translate_section, translate_text, validate
from .cache import OBSOLETE_SUFFIX, CacheError, CacheWriteError, TranslationCache, check_lang, check_module_path
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
    # new key -> the old translation of its previous English (shown marked as outdated)
    outdated: dict = field(default_factory=dict)

    def title(self, english: str) -> str:
        return self.title_text or english

    def summary(self, english: str | None) -> str | None:
        return self.summary_text or english

    def section_html(self, section, render_math) -> str | None:
        return translate_section(section, self.translations,
                                 lambda f: render_fragment(f, render_math),
                                 outdated=self.outdated, mark_outdated=self.mark_outdated)

    def mark_outdated(self, old_html: str, english_html: str) -> str:
        """An old translation in a box that says so, with the current English behind a toggle."""
        ui = ui_strings(self.lang)
        return (f'<div class="outdated" data-outdated>'
                f'<p class="outdated-note" data-pagefind-ignore>{html.escape(ui["outdated_note"])}</p>'
                f'{old_html}'
                f'<details class="outdated-english" data-pagefind-ignore>'
                f'<summary>{html.escape(ui["outdated_english"])}</summary>'
                f'<div lang="en">{english_html}</div></details></div>')

    def page_status(self, site) -> dict:
        ui = ui_strings(self.lang)
        percent = 100 if self.total == 0 else int(100 * self.translated / self.total)
        text = ui['translated'].format(percent=percent)
        # The language's translation-status page (pylit.translate.status_page) lies at the
        # root of its folder: `root` + this, in the page template
        return {'percent': percent, 'text': text, 'href': self.cache_url,
                'status_href': _status_file(), 'status_text': ui['status_link']}


def _status_file() -> str:
    """The name of a language's translation-status page (`pylit.translate.status_page`, loaded when needed)."""
    from .status_page import FILE_NAME
    return FILE_NAME


def outdated_translations(keys: list[str], translations: dict[str, str],
                          obsolete: dict[str, str]) -> dict[str, str]:
    """
    `{new key: old translation}` for the untranslated chunks whose English changed: the
    sidecar's translation of the most similar old English, the same suggestion that
    `pylit translate status` shows and `pylit translate accept` takes.
    """
    found = {}
    if not obsolete:
        return found
    for key in keys:
        if translations.get(key, key) == key and needs_translation(key):
            from .status import _suggest
            s = _suggest(key, obsolete)
            if s is not None:
                found[key] = s.translation
    return found


# The keys and formulas of a module are the same in every language: a multi-language build
# works them out once per module (by identity: the build parses each module once)
_PER_MODULE: dict = {}


def _per_module(module) -> dict:
    """What is remembered of `module` (`{'keys': {filename: keys}, 'formulas': [...]}`)."""
    hit = _PER_MODULE.get(id(module))
    if hit is not None and hit[0] is module:
        return hit[1]
    if len(_PER_MODULE) > 4096:
        _PER_MODULE.clear()
    _PER_MODULE[id(module)] = (module, {'keys': {}})
    return _PER_MODULE[id(module)][1]


def _module_keys(module, filename: str) -> list[str]:
    """`module_keys(module, filename)`, worked out once per module."""
    known = _per_module(module)['keys']
    if filename not in known:
        known[filename] = module_keys(module, filename)
    return known[filename]


def _module_formulas(module) -> list[tuple[str, bool]]:
    """The formulas the placeholders of the module's chunks stand for, worked out once per module."""
    known = _per_module(module)
    if 'formulas' not in known:
        found = []
        for chunk in module_chunks(module):
            for f in chunk.fragments:
                tex = fragment_formulas(f)
                if tex is not None:
                    found.append(tex)
        known['formulas'] = found
    return known['formulas']


@functools.lru_cache(maxsize=65536)
def _module_path(rel: str) -> str:
    return str(PurePosixPath(rel).with_suffix(''))


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
        return _module_path(src.rel)

    def cache(self, src) -> TranslationCache:
        return TranslationCache(self.cache_dir, self.module_path(src), self.lang)

    def fingerprint(self, src) -> str:
        """The bytes of the module's cache file and sidecar, so that editing them rebuilds the page."""
        # Every build asks this of every page in every language: plain strings, not `cache(src)`'s paths
        module = self.module_path(src)
        check_module_path(module)
        check_lang(self.lang)
        base = os.path.join(self.cache_dir, f'{module}.{self.lang}')
        h = hashlib.sha256()
        for path in (base + '.json', base + OBSOLETE_SUFFIX):
            try:
                with open(path, 'rb') as f:
                    h.update(f.read())
            except FileNotFoundError:
                h.update(b'none')
            h.update(b'\0')
        return h.hexdigest()

    def formulas(self, module) -> list[tuple[str, bool]]:
        """The formulas the placeholders of the module's chunks stand for."""
        return list(_module_formulas(module))

    def for_module(self, src, module) -> ModuleTranslation | None:
        from ..build import Diagnostic
        cache = self.cache(src)
        rel_file = cache.path.as_posix()
        filename = PurePosixPath(src.rel).name
        try:
            keys = _module_keys(module, filename)
            synced = cache.sync(keys, write=self.write_caches)
        except CacheWriteError as e:
            # A read-only cache folder: the page still uses the translations, the file stays
            self._diagnostics.append(Diagnostic(str(e.path), 0, 'warning', f'{e.message}; the cache file was not updated'))
            synced = e.result
        except CacheError as e:
            self._diagnostics.append(Diagnostic(str(e.path), e.line, 'error',
                                                f'{e.message}; the page is built in English and the file is left as it is',
                                                column=e.column))
            return None
        values = synced.translations
        warnings: list[TranslationWarning] = []
        title = translate_text(title_key(module, filename), values, cache_file=rel_file, warnings=warnings)
        summary = translate_text(summary_key(module), values, cache_file=rel_file, warnings=warnings)
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
                                 title_text=title, summary_text=summary,
                                 outdated=outdated_translations(keys, values, synced.obsolete))

    def diagnostics(self) -> list:
        return list(self._diagnostics)
