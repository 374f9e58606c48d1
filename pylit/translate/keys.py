"""
---
title: Translation keys
summary: >
  How the notes of a page are cut into translation chunks, and how each chunk becomes the
  exact HTML key of the translation cache, with math and code replaced by numbered placeholders.
---

# Translation keys

A translation cache maps a *key* (the English HTML of one chunk of notes) to its translation.
Other tools read and write the same files, so our keys must be byte for byte the ones the
format specifies (`specs/translate-cache-format.md`). The key is **not** the rendering of the
English page: it comes from a small Markdown dialect of its own, implemented here and nowhere
else, so that a change to the page renderer can never silently change a key.

The steps for one section's notes are

* normalise the text and hide display blocks (`align`, fenced code) behind opaque tokens (§4);
* cut it into blocks and render each with the block grammar: headings, `*` lists, Sphinx
  `:param:` fields and paragraphs (§5);
* render the text of each with the inline grammar: code and math become placeholders, links,
  emphasis and raw tags become HTML, everything else is escaped (§6);
* number the placeholders in order of appearance, and split a chunk longer than
  `SPLIT_LIMIT` characters into its top-level elements (§7).

Any change here that alters a key must bump `KEYS_VERSION`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

# Version of the key derivation. Bump it whenever a key for the same source changes.
KEYS_VERSION = 1

# A chunk whose HTML is longer than this is split into its top-level elements (§7).
SPLIT_LIMIT = 4000


@dataclass(frozen=True)
class Fragment:
    """
    What a placeholder stands for: a piece of source that is never translated.

    * `kind` is `code` (inline code, or the NAME of a `:param NAME:` field), `math` (`$..$`),
      `display` (`$$..$$`), `align` (a whole `\\begin{align}..\\end{align}` block),
      `fenced` (a fenced code block) or `image` (`![alt](src)`)
    * `source` is the source text: the TeX without its dollar signs, the whole `align` block,
      the code inside the backticks or fences, the whole image markup
    * `lang` is the language named after the opening fence of a fenced block
    """
    kind: str
    source: str
    lang: str = ''


@dataclass(frozen=True)
class Chunk:
    """One translation key and the fragments its placeholders stand for (`fragments[N]` for `N`)."""
    key: str
    fragments: tuple[Fragment, ...]


def placeholder(n: int) -> str:
    """The placeholder for fragment `n` inside a key."""
    return f'<span translate=no>_^_{n}_^_</span>'


# A placeholder inside a key
PLACEHOLDER_RE = re.compile(r'<span translate=no>_\^_(\d+)_\^_</span>')

# ## Normalisation (§4)

# Display blocks, replaced by opaque tokens before the text is cut into blocks.
_DISPLAY_RE = re.compile(r'\\begin\{(align\*?)\}.*?\\end\{\1\}|```.*?```', re.S)
# The token standing for display block `i`. Control characters never occur in Python
# source text and are not whitespace for `str.strip` or `\s`.
_TOKEN = '\x02{}\x03'
_TOKEN_RE = re.compile(r'\x02(\d+)\x03')
# A fragment reference in rendered HTML, before the placeholders are numbered
_MARK = '\x00{}\x01'
_MARK_RE = re.compile(r'\x00(\d+)\x01')
_BLOCK_SPLIT_RE = re.compile(r'\n\n+')
_SPACES_RE = re.compile(r' {2,}')

# ## Block grammar (§5)

_HEADING_RE = re.compile(r'^\s*(#{1,6})\s*(.*)$')
_LIST_RE = re.compile(r'^(\s*)\* (.*)$')
_PARAM_RE = re.compile(r'^\s*:param\s+(\S+?):(.*)$')
_RETURN_RE = re.compile(r'^\s*:return:(.*)$')

# ## Inline grammar (§6)

# Characters at which an inline construct may start
_SPECIAL_RE = re.compile(r'[`$!\[<*\-\x02]')
_IMAGE_RE = re.compile(r'!\[([^\]]*)\]\(([^)]*)\)')
# Link text may hold one level of nested brackets; the url ends at the first `)`
_LINK_RE = re.compile(r'\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(([^)]*)\)')
_BRACKET_RE = re.compile(r'\[((?:[^\[\]]|\[[^\[\]]*\])*)\](?!\()')
_TAG_RE = re.compile(r'</?[A-Za-z][^>]*>')
_MATH_RE = re.compile(r'\$([^$]+)\$')


class _Renderer:
    """
    Renders the notes of one section to HTML with fragment marks.

    Marks (`\\x00k\\x01`, index `k` into `self.fragments`) become numbered placeholders only at
    the end, because the numbering follows the order in the final HTML and restarts in every
    piece of a split chunk.
    """

    def __init__(self, displays: list[Fragment], raw: list[str]):
        self.displays = displays
        # The source text each display token replaced, to put back into code or math that
        # happened to contain it
        self.raw = raw
        self.fragments: list[Fragment] = []

    def restore(self, text: str) -> str:
        if '\x02' not in text:
            return text
        return _TOKEN_RE.sub(lambda m: self.raw[int(m.group(1))], text)

    def mark(self, fragment: Fragment) -> str:
        self.fragments.append(fragment)
        return _MARK.format(len(self.fragments) - 1)

    # ### Blocks

    def block(self, block: str, out: list[str]):
        """Render one block, appending its top-level elements to `out`."""
        # A display token at the start of the block is emitted on its own
        stripped = block.lstrip()
        m = _TOKEN_RE.match(stripped)
        if m:
            out.append(self.mark(self.displays[int(m.group(1))]))
            self.block(stripped[m.end():], out)
            return

        lines = block.split('\n')
        last = len(lines) - 1
        para: list[str] | None = None
        # List items as [kind, text, name]; kind is 'li', 'param' or 'return'
        items: list[list] | None = None

        def close():
            nonlocal para, items
            if para is not None:
                text = '\n'.join(para)
                if text != '':
                    out.append('<p>' + self.inline(text) + '</p>\n')
                para = None
            if items is not None:
                out.append('<ul>' + '\n'.join(self.item(*it) for it in items) + '</ul>\n')
                items = None

        for i, line in enumerate(lines):
            nl = '\n' if i < last else ''
            m = _HEADING_RE.match(line)
            if m:
                close()
                n = len(m.group(1))
                out.append(f'<h{n}>' + self.inline(m.group(2).strip()) + f'</h{n}>\n')
                continue
            # Items start only where no non-empty paragraph is open
            if para is None or para == ['']:
                m = _LIST_RE.match(line)
                item = None
                if m:
                    item = ['li', m.group(2) + nl, None]
                    # The item's indentation goes to the previous item (nested lists flatten)
                    if items:
                        items[-1][1] += m.group(1)
                else:
                    m = _PARAM_RE.match(line)
                    if m:
                        item = ['param', m.group(2) + nl, m.group(1)]
                    else:
                        m = _RETURN_RE.match(line)
                        if m:
                            item = ['return', m.group(1) + nl, None]
                if item is not None:
                    para = None
                    if items is None:
                        items = []
                    items.append(item)
                    continue
            if items is not None:
                # Lazy continuation of the last item
                items[-1][1] += line + nl
            elif para is None:
                para = [line]
            else:
                para.append(line)
        close()

    def item(self, kind: str, text: str, name: str | None) -> str:
        if kind == 'li':
            return '<li>' + self.inline(text) + '</li>'
        if kind == 'param':
            return '<li>' + self.mark(Fragment('code', name)) + ' ' + self.inline(text) + '</li>'
        return '<p><em>Returns</em> ' + self.inline(text) + '</p>'

    # ### Inline text

    def inline(self, text: str) -> str:
        return self._inline(text.replace('\n', ' '))

    def _inline(self, s: str) -> str:
        out = []
        pos = 0      # start of the pending plain text
        i = 0
        n = len(s)
        while True:
            m = _SPECIAL_RE.search(s, i)
            if m is None:
                break
            i = m.start()
            r = self._construct(s, i)
            if r is None:
                i += 1
                continue
            html_, end = r
            if i > pos:
                out.append(html.escape(s[pos:i], quote=True))
            out.append(html_)
            pos = i = end
        if pos < n:
            out.append(html.escape(s[pos:], quote=True))
        return ''.join(out)

    def _construct(self, s: str, i: int) -> tuple[str, int] | None:
        """The inline construct starting at `i`, as `(html, end)`, or `None` for plain text."""
        c = s[i]
        if c == '`':
            span = _code_span(s, i)
            if span is None:
                # An unclosed run of backticks is plain text as a whole
                j = i
                while j < len(s) and s[j] == '`':
                    j += 1
                return html.escape(s[i:j]), j
            content, end = span
            return self.mark(Fragment('code', self.restore(content))), end
        if c == '$':
            if s.startswith('$$', i):
                j = s.find('$$', i + 2)
                if j >= 0:
                    return self.mark(Fragment('display', self.restore(s[i + 2:j]))), j + 2
            m = _MATH_RE.match(s, i)
            if m:
                return self.mark(Fragment('math', self.restore(m.group(1)))), m.end()
            return None
        if c == '\x02':
            m = _TOKEN_RE.match(s, i)
            if m:
                return self.mark(self.displays[int(m.group(1))]), m.end()
            return None
        if c == '!':
            m = _IMAGE_RE.match(s, i)
            if m:
                return self.mark(Fragment('image', self.restore(m.group(0)))), m.end()
            return None
        if c == '[':
            m = _LINK_RE.match(s, i)
            if m:
                return f'<a href="{m.group(2)}">' + self._inline(m.group(1)) + '</a>', m.end()
            m = _BRACKET_RE.match(s, i)
            if m:
                return f'<a href="{m.group(1)}">' + self._inline(m.group(1)) + '</a>', m.end()
            return None
        if c == '<':
            m = _TAG_RE.match(s, i)
            if m:
                return m.group(0), m.end()
            return None
        if c == '*':
            if s.startswith('**', i):
                j = _find_closer(s, i + 2, '**')
                if j is not None and j > i + 2:
                    return '<strong>' + self._inline(s[i + 2:j]) + '</strong>', j + 2
            j = _find_closer(s, i + 1, '*')
            if j is not None and j > i + 1:
                return '<em>' + self._inline(s[i + 1:j]) + '</em>', j + 1
            return None
        if c == '-':
            if s.startswith('---*', i):
                j = _find_closer(s, i + 4, '*---')
                if j is not None and j > i + 4:
                    return '<small><em>' + self._inline(s[i + 4:j]) + '</em></small>', j + 4
            return None
        return None


def _code_span(s: str, i: int) -> tuple[str, int] | None:
    """A code span opened by the backtick run at `i`: `(content, end)`, or `None` if unclosed."""
    j = i
    while j < len(s) and s[j] == '`':
        j += 1
    n = j - i
    k = j
    while True:
        k = s.find('`' * n, k)
        if k < 0:
            return None
        e = k + n
        # The closing run must have exactly n backticks
        if (e < len(s) and s[e] == '`') or s[k - 1] == '`':
            while e < len(s) and s[e] == '`':
                e += 1
            k = e
            continue
        content = s[j:k]
        # As in CommonMark, one space on each side is padding
        if len(content) >= 2 and content[0] == ' ' and content[-1] == ' ' and content.strip(' '):
            content = content[1:-1]
        return content, e


def _find_closer(s: str, start: int, closer: str) -> int | None:
    """
    Index of `closer` after `start`, skipping code, math and (for `*`) strong spans.

    The closing `*` of emphasis must not be followed by another `*`.
    """
    i = start
    n = len(s)
    while i < n:
        c = s[i]
        if c == '`':
            span = _code_span(s, i)
            if span is not None:
                i = span[1]
                continue
            while i < n and s[i] == '`':
                i += 1
            continue
        if c == '$':
            if s.startswith('$$', i):
                j = s.find('$$', i + 2)
                if j >= 0:
                    i = j + 2
                    continue
            m = _MATH_RE.match(s, i)
            if m:
                i = m.end()
                continue
            i += 1
            continue
        if s.startswith(closer, i):
            if closer != '*':
                return i
            if i + 1 < n and s[i + 1] == '*':
                # A nested `**..**` inside emphasis
                j = _find_closer(s, i + 2, '**')
                if j is not None:
                    i = j + 2
                    continue
                i += 2
                continue
            return i
        i += 1
    return None


# ## Chunks


def _finish(html_: str, fragments: list[Fragment]) -> Chunk:
    """Number the placeholders in order of appearance."""
    used = []

    def number(m):
        used.append(fragments[int(m.group(1))])
        return placeholder(len(used) - 1)

    key = _MARK_RE.sub(number, html_)
    return Chunk(key, tuple(used))


@lru_cache(maxsize=8192)
def docs_chunks(docs: str) -> tuple[Chunk, ...]:
    """The chunks of one section's notes text (§4–§7); `()` when the notes give no key."""
    if not docs:
        return ()
    # §4.1: trailing spaces never survive
    text = '\n'.join(line.rstrip() for line in docs.split('\n'))
    # §4.2: display blocks become opaque tokens
    displays: list[Fragment] = []
    raw: list[str] = []

    def hide(m):
        src = m.group(0)
        raw.append(src)
        if src.startswith('```'):
            inner = src[3:-3]
            first, _, body = inner.partition('\n')
            if not _:
                first, body = '', inner
            if body.endswith('\n'):
                body = body[:-1]
            displays.append(Fragment('fenced', body, first.strip()))
        else:
            displays.append(Fragment('align', src))
        return _TOKEN.format(len(displays) - 1)

    text = _DISPLAY_RE.sub(hide, text)
    renderer = _Renderer(displays, raw)
    elements: list[str] = []
    # §4.3–§4.4: blocks, with runs of spaces collapsed
    for block in _BLOCK_SPLIT_RE.split(text):
        renderer.block(_SPACES_RE.sub(' ', block), elements)
    whole = ''.join(elements)
    if not whole.strip():
        return ()
    chunk = _finish(whole, renderer.fragments)
    if len(chunk.key) <= SPLIT_LIMIT:
        return (chunk,)
    # §7: too long, so every top-level element is a key of its own
    return tuple(_finish(e, renderer.fragments) for e in elements)


def section_chunks(section) -> list[Chunk]:
    """The chunks of one section (several when it is split); `[]` when it gives no key."""
    return list(docs_chunks(section.docs))


# ## Titles and module keys


_LINK_TEXT_RE = re.compile(r'\[([^\]]*)\]\([^)]*\)')


def title_key(module, filename: str) -> str | None:
    """
    The title key of a module (§2.1–§2.2): the front-matter title, else the text of a leading
    `# ` heading of the first docstring, else the file name. `None` for an empty file.
    """
    if module.empty_file:
        return None
    if module.has_front_matter and module.title:
        return module.title
    if module.h1_title is not None:
        return module.h1_title
    return filename


def summary_key(module) -> str | None:
    """The front-matter summary key, if there is one."""
    if module.has_front_matter and module.summary:
        return module.summary
    return None


def module_chunks(module) -> list[Chunk]:
    """Every chunk of a module, in source order (not de-duplicated)."""
    chunks = []
    for section in module.sections:
        chunks.extend(docs_chunks(section.docs))
    return chunks


def module_keys(module, filename: str | None = None) -> list[str]:
    """
    Every key of a module in source order, de-duplicated: the title, the summary, then the
    chunks. `filename` (such as `scaler.py`) is the title of a module with neither front
    matter nor a leading `# ` heading; without it such a module has no title key.
    """
    if module.empty_file:
        return []
    keys = []
    title = title_key(module, filename) if filename is not None else (
        title_key(module, '') or None)
    for k in (title, summary_key(module)):
        if k:
            keys.append(k)
    keys.extend(c.key for c in module_chunks(module))
    return list(dict.fromkeys(keys))


def readme_keys(text: str, filename: str = 'readme.md') -> list[str]:
    """
    The keys of a `readme.md` (§8): its title (the first line without `# `, links reduced to
    their text) and the whole file as one chunk.
    """
    if text == '':
        return []
    first = text.split('\n', 1)[0]
    title = _LINK_TEXT_RE.sub(r'\1', first[2:]) if first.startswith('# ') else filename
    keys = [title] if title else []
    keys.extend(c.key for c in docs_chunks(text))
    return list(dict.fromkeys(keys))


def placeholder_numbers(text: str) -> list[int]:
    """The numbers of the placeholders in a key or a translation, in order."""
    return [int(n) for n in PLACEHOLDER_MARK_RE.findall(text)]


# The part of a placeholder that identifies it; translators sometimes re-quote the span's
# attribute, so a translation is checked by this mark alone.
PLACEHOLDER_MARK_RE = re.compile(r'_\^_(\d+)_\^_')
