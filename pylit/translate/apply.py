"""
---
title: Applying translations
summary: >
  What a translated page shows for a section: the translator's HTML, checked and sanitised,
  with its placeholders filled by the current source's rendered math and code.
---

# Applying translations

A translation is only used when its placeholders are exactly those of its key: the same
numbers, each as often, in any order (a translator may reorder them). Anything else would drop
or duplicate a formula, so that chunk falls back to English and the build gets a warning.

Whatever a cache file holds, it goes through an allowlist sanitizer (`nh3`) before it reaches
a page: no `<script>`, `<style>`, event-handler attributes, `javascript:` URLs or iframes.
The math and code that fill the placeholders are rendered from the current source *after*
sanitising, so they are never altered by it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import nh3

from .keys import PLACEHOLDER_MARK_RE, Fragment, section_chunks

# Markup a translation may contain
ALLOWED_TAGS = {
    'a', 'abbr', 'b', 'blockquote', 'br', 'code', 'dd', 'del', 'div', 'dl', 'dt', 'em',
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark', 'ol',
    'p', 'pre', 'q', 'rp', 'rt', 'ruby', 's', 'samp', 'small', 'span', 'strong', 'sub', 'sup',
    'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'u', 'ul', 'var', 'wbr',
}
ALLOWED_ATTRIBUTES = {
    'a': {'href', 'title', 'hreflang'},
    'span': {'translate'},
    'img': {'src', 'alt', 'title', 'width', 'height'},
    'abbr': {'title'},
    'ol': {'start'},
    'td': {'colspan', 'rowspan', 'align'},
    'th': {'colspan', 'rowspan', 'align', 'scope'},
}
URL_SCHEMES = {'http', 'https', 'mailto'}

# A placeholder after sanitising (the sanitizer quotes the attribute), or a bare mark
_FILLED_RE = re.compile(r'<span translate="no">_\^_(\d+)_\^_</span>|_\^_(\d+)_\^_')
# A tag, to find placeholders that a translation put inside one
_TAG_RE = re.compile(r'<[^<>]*>')


@dataclass(frozen=True)
class TranslationWarning:
    """A translation that was not used; `str()` gives the one-line message."""
    cache_file: str
    key: str
    reason: str

    def __str__(self):
        start = self.key if len(self.key) <= 60 else self.key[:60] + '…'
        return (f'{self.cache_file}: translation of {start!r} not used: {self.reason}; '
                f'the page shows English for it')


def sanitize(html: str) -> str:
    """Allowlist-sanitise translated HTML."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, link_rel=None, strip_comments=True)


def needs_translation(key: str) -> bool:
    """
    Whether a key has words to translate. A chunk that is only math, code or an image between
    tags (`<p>PH0 </p>`) has none: its English form is already right in every language, so it
    counts as translated as it is.
    """
    text = PLACEHOLDER_MARK_RE.sub(' ', _TAG_RE.sub(' ', key))
    text = re.sub(r'&[#\w]+;', ' ', text)
    return re.search(r'[^\W\d_]', text) is not None


def validate(key: str, value: str) -> str | None:
    """
    `None` if `value` may be used for `key`, otherwise a short reason.

    The placeholders of the value must be exactly those of the key, and none may sit inside
    a tag (where filling it with HTML would break the markup).
    """
    if not value.strip() and key.strip():
        return 'the translation is empty'
    want = Counter(int(n) for n in PLACEHOLDER_MARK_RE.findall(key))
    got = Counter(int(n) for n in PLACEHOLDER_MARK_RE.findall(value))
    if want != got:
        missing = sorted((want - got).elements())
        extra = sorted((got - want).elements())
        parts = []
        if missing:
            parts.append('missing placeholder ' + ', '.join(f'_^_{n}_^_' for n in missing))
        if extra:
            parts.append('unknown or repeated placeholder ' + ', '.join(f'_^_{n}_^_' for n in extra))
        return '; '.join(parts)
    for m in _TAG_RE.finditer(value):
        if PLACEHOLDER_MARK_RE.search(m.group(0)):
            return 'a placeholder is inside a tag'
    return None


def _fill(html: str, fragments: tuple[Fragment, ...], render_fragment) -> str | None:
    """Replace each placeholder by its rendered fragment; `None` if one is unknown."""
    bad = False

    def one(m):
        nonlocal bad
        n = int(m.group(1) if m.group(1) is not None else m.group(2))
        if n >= len(fragments):
            bad = True
            return ''
        return render_fragment(fragments[n])

    out = _FILLED_RE.sub(one, html)
    return None if bad else out


def translate_section(section, translations: dict[str, str],
                      render_fragment: Callable[[Fragment], str], *,
                      cache_file: str = '', warnings: list | None = None) -> str | None:
    """
    The translated notes HTML of one section, or `None` when none of its chunks has a usable
    translation (the page then shows the English rendering).

    Each chunk shows its translation, or its key when it has none or an invalid one (a
    `TranslationWarning` is appended to `warnings`, if given), sanitised, with placeholder
    `N` replaced by `render_fragment(fragments[N])`.
    """
    chunks = section_chunks(section)
    if not chunks or all(translations.get(c.key, c.key) == c.key for c in chunks):
        return None
    parts = []
    used = False
    for chunk in chunks:
        value = translations.get(chunk.key, chunk.key)
        html = None
        if value != chunk.key:
            reason = validate(chunk.key, value)
            if reason is None:
                clean = sanitize(value)
                if Counter(PLACEHOLDER_MARK_RE.findall(clean)) != Counter(PLACEHOLDER_MARK_RE.findall(value)):
                    reason = 'the sanitizer removed a placeholder (is it inside a tag that is not allowed?)'
                else:
                    html = _fill(clean, chunk.fragments, render_fragment)
            if reason is not None and warnings is not None:
                warnings.append(TranslationWarning(cache_file, chunk.key, reason))
            used |= html is not None
        if html is None:
            html = _fill(sanitize(chunk.key), chunk.fragments, render_fragment)
        parts.append(html)
    return ''.join(parts) if used else None


def translate_text(key: str | None, translations: dict[str, str], *,
                   cache_file: str = '', warnings: list | None = None) -> str | None:
    """
    The translation of a plain-text key (a title or summary), or `None` when it has none.
    The result is text, to be escaped where it is inserted.
    """
    if not key:
        return None
    value = translations.get(key, key)
    if value == key:
        return None
    reason = validate(key, value)
    if reason is not None:
        if warnings is not None:
            warnings.append(TranslationWarning(cache_file, key, reason))
        return None
    return value
