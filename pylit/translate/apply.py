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

The check runs on *parsed* HTML (`html.parser`), not on patterns: each placeholder must be a
whole `<span translate=no>_^_N_^_</span>` element standing in text. A mark inside a tag or an
attribute value (`<img alt="<span translate=no>_^_0_^_</span>">`), inside a comment, or bare
in the text is refused, because filling it with the formula's HTML there could turn text into
markup. `status`, `import-po` and the build all use this one check.

Filling happens in three steps. The exact placeholder elements the parser found are swapped
for inert text; the translation is then sanitised with an allowlist (`nh3`: no `<script>`,
`<style>`, event-handler attributes, `javascript:` URLs or iframes); the inert text is replaced
by the math and code rendered from the current source; and the filled result is parsed once
more and refused (the chunk shows English) if it holds anything script-capable: an event
handler, a `<script>`, `<style>` or `<iframe>`, a `javascript:` URL. Nothing a cache file holds
can put script on a page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from html import escape
from html import unescape as html_unescape
from html.parser import HTMLParser
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

# Any placeholder mark, wherever it stands
_MARK_RE = re.compile(r'_\^_(\d+)_\^_')
# A tag, to see which words a key has (`needs_translation`)
_TAG_RE = re.compile(r'<[^<>]*>')
# Inert text that stands for placeholder element i while the translation is sanitised
_SENTINEL = '\ue000{}\ue001'.format
_SENTINEL_RE = re.compile('\ue000(\\d+)\ue001')

# After filling, the whole chunk is parsed again and refused if it holds anything that can run
# script. The math and code come from our own renderers (KaTeX's HTML, MathML and SVG, Pygments'
# spans), so this never refuses a real page; it is the last line of defence if a fragment or the
# filling ever went wrong. (Re-running the allowlist sanitizer here would mangle KaTeX's MathML,
# which HTML parsers read differently from the way KaTeX writes it.)
_SCRIPT_TAGS = {
    'script', 'style', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'link',
    'meta', 'form', 'input', 'button', 'textarea', 'select', 'option', 'template', 'noscript',
    'foreignobject', 'animate', 'animatetransform', 'animatemotion', 'set', 'use', 'image', 'portal',
}
_URL_ATTRIBUTES = {'href', 'src', 'xlink:href', 'action', 'formaction', 'data', 'poster', 'srcset',
                   'background', 'cite', 'longdesc', 'ping'}


class _SafetyScan(HTMLParser):
    """The first script-capable construct of an HTML text, if any (`problem`)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.problem: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if self.problem:
            return
        if tag in _SCRIPT_TAGS:
            self.problem = f'a <{tag}> element'
            return
        for name, value in attrs:
            value = value or ''
            if name.startswith('on'):
                self.problem = f'an event handler ({name})'
            elif name in _URL_ATTRIBUTES:
                scheme = re.match(r'\s*([A-Za-z][A-Za-z0-9+.-]*):', re.sub(r'[\x00-\x20]', '', value))
                if scheme and scheme.group(1).lower() not in URL_SCHEMES:
                    self.problem = f'a {scheme.group(1)}: URL'
            elif name == 'style' and re.search(r'url\(|expression\(|javascript:|@import', value, re.I):
                self.problem = 'a style that loads or runs something'
            if self.problem:
                return

    handle_startendtag = handle_starttag


def unsafe(html: str) -> str | None:
    """Why `html` (a filled chunk) could run script, or `None` when it cannot."""
    return _SafetyScan(html).problem


class _PlaceholderScan(HTMLParser):
    """
    Find the placeholder elements of a translation on parsed HTML.

    A placeholder is a `<span translate=no>` element whose only content is its mark
    `_^_N_^_`. It must stand in text content: a mark inside a tag, an attribute value, a
    comment or outside its element is reported in `problems`, and is never filled.
    `found` lists `(N, start, end)` with the offsets of each whole element in the text.
    """

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == '\n']
        self.found: list[tuple[int, int, int]] = []
        self.problems: list[str] = []
        self._open: int | None = None
        self._data = ''
        self.feed(text)
        self.close()
        if self._open is not None:
            self.problems.append('a placeholder element is not closed')

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _check_tag(self, tag, attrs):
        raw = self.get_starttag_text() or tag
        if _MARK_RE.search(raw) or any(_MARK_RE.search(v or '') for _, v in attrs):
            self.problems.append('a placeholder is inside a tag or an attribute value; '
                                 'put it in the text')
            return False
        return True

    def handle_starttag(self, tag, attrs):
        if self._open is not None:
            self.problems.append('a placeholder element may hold only its mark _^_N_^_')
            self._open = None
        if not self._check_tag(tag, attrs):
            return
        if tag == 'span' and [(k, (v or '').lower()) for k, v in attrs] == [('translate', 'no')]:
            self._open = self._offset()
            self._data = ''

    def handle_startendtag(self, tag, attrs):
        if self._open is not None:
            self.problems.append('a placeholder element may hold only its mark _^_N_^_')
            self._open = None
        self._check_tag(tag, attrs)

    def handle_endtag(self, tag):
        if self._open is None:
            return
        start, self._open = self._open, None
        m = _MARK_RE.fullmatch(self._data)
        if tag != 'span' or m is None:
            self.problems.append('a placeholder element may hold only its mark _^_N_^_')
            return
        pos = self._offset()
        end = self.text.find('>', pos)
        self.found.append((int(m.group(1)), start, end + 1))

    def handle_data(self, data):
        if self._open is not None:
            self._data += data
        elif _MARK_RE.search(data):
            n = _MARK_RE.search(data).group(1)
            self.problems.append(f'the mark _^_{n}_^_ stands outside its element; '
                                 f'write it as <span translate=no>_^_{n}_^_</span>')

    def _hidden(self, data):
        if _MARK_RE.search(data or ''):
            self.problems.append('a placeholder is inside a comment or a declaration')

    handle_comment = handle_decl = handle_pi = unknown_decl = _hidden


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


def _check(key: str, value: str) -> tuple[str | None, list]:
    """`(reason, placeholder elements)` of `value` as a translation of `key`."""
    if not value.strip() and key.strip():
        return 'the translation is empty', []
    if '\ue000' in value or '\ue001' in value:
        return 'the translation holds a reserved character (U+E000 or U+E001)', []
    want = Counter(int(n) for n in PLACEHOLDER_MARK_RE.findall(key))
    if not want and not _MARK_RE.search(value):
        return None, []
    try:
        scan = _PlaceholderScan(value)
    except (RecursionError, AssertionError) as e:  # pragma: no cover - defensive
        return f'cannot parse the HTML: {e}', []
    if scan.problems:
        return scan.problems[0], []
    got = Counter(n for n, _, _ in scan.found)
    if want != got:
        missing = sorted((want - got).elements())
        extra = sorted((got - want).elements())
        parts = []
        if missing:
            parts.append('missing placeholder ' + ', '.join(f'_^_{n}_^_' for n in missing))
        if extra:
            parts.append('unknown or repeated placeholder ' + ', '.join(f'_^_{n}_^_' for n in extra))
        return '; '.join(parts), []
    return None, scan.found


def validate(key: str, value: str) -> str | None:
    """
    `None` if `value` may be used for `key`, otherwise a short reason.

    The check runs on parsed HTML: every placeholder of the key must appear exactly once as a
    `<span translate=no>_^_N_^_</span>` element in text content (in any order); a mark inside a
    tag, an attribute value or a comment, or outside its element, makes the value invalid.
    """
    return _check(key, value)[0]


def fill(key: str, value: str, fragments, render_fragment) -> tuple[str | None, str | None]:
    """
    `(html, None)`: `value` sanitised, each placeholder element replaced by its rendered
    fragment, and the result sanitised again; or `(None, reason)` when it cannot be used.

    Only the exact placeholder elements found by `validate` are filled: they are swapped for
    inert text before sanitising, so the sanitizer can neither move one into an attribute nor
    be fooled by one, and the filled HTML is checked once more (`unsafe`).
    """
    reason, found = _check(key, value)
    if reason is not None:
        return None, reason
    parts, last = [], 0
    numbers = []
    for i, (n, start, end) in enumerate(sorted(found, key=lambda f: f[1])):
        parts.append(value[last:start])
        parts.append(_SENTINEL(i))
        numbers.append(n)
        last = end
    parts.append(value[last:])
    clean = sanitize(''.join(parts))
    seen = Counter(int(i) for i in _SENTINEL_RE.findall(clean))
    if seen != Counter(range(len(numbers))):
        return None, 'the sanitizer removed a placeholder (is it inside a tag that is not allowed?)'
    if any(n >= len(fragments) for n in numbers):
        return None, 'a placeholder has no math or code in the current source'
    filled = _SENTINEL_RE.sub(lambda m: render_fragment(fragments[numbers[int(m.group(1))]]), clean)
    problem = unsafe(filled)
    if problem is not None:
        return None, f'after filling, the HTML holds {problem}'
    return filled, None


def translate_section(section, translations: dict[str, str],
                      render_fragment: Callable[[Fragment], str], *,
                      cache_file: str = '', warnings: list | None = None,
                      outdated: dict[str, str] | None = None,
                      mark_outdated: Callable[[str, str], str] | None = None) -> str | None:
    """
    The translated notes HTML of one section, or `None` when none of its chunks has a usable
    translation (the page then shows the English rendering).

    Each chunk shows its translation, or its key when it has none or an invalid one (a
    `TranslationWarning` is appended to `warnings`, if given), sanitised, with placeholder
    `N` replaced by `render_fragment(fragments[N])`.

    An untranslated chunk whose English changed may have an old translation in `outdated`
    (new key -> the translation of the old key, the suggestion `translate status` shows). It
    is checked and filled exactly like a current one, and shown as
    `mark_outdated(old translation HTML, English HTML)`; if its placeholders no longer match the
    new key, the chunk shows English.
    """
    chunks = section_chunks(section)
    outdated = outdated or {}
    if not chunks or all(translations.get(c.key, c.key) == c.key and c.key not in outdated for c in chunks):
        return None
    parts = []
    used = False
    for chunk in chunks:
        value = translations.get(chunk.key, chunk.key)
        html = None
        if value != chunk.key:
            html, reason = fill(chunk.key, value, chunk.fragments, render_fragment)
            if reason is not None and warnings is not None:
                warnings.append(TranslationWarning(cache_file, chunk.key, reason))
            used |= html is not None
        english = None
        if html is None:
            english, _ = fill(chunk.key, chunk.key, chunk.fragments, render_fragment)
            html = english
        if english is not None and value == chunk.key and mark_outdated is not None:
            old = outdated.get(chunk.key)
            if old is not None and old != chunk.key:
                old_html, _ = fill(chunk.key, old, chunk.fragments, render_fragment)
                if old_html is not None:
                    html = mark_outdated(old_html, english)
                    used = True
        if html is None:
            # A key we cannot fill safely (never expected): its words, escaped, rather than nothing
            html = '<p>' + escape(html_unescape(PLACEHOLDER_MARK_RE.sub(' ', _TAG_RE.sub(' ', chunk.key)))) + '</p>'
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
