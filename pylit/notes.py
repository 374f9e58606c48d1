"""
# Render notes: Markdown with math

Notes are Markdown, rendered with Python-Markdown (tables and fenced code included).
Math must never reach Markdown: inside `$a_1 * b_2$` the `_` and `*` would become emphasis.
So we cut every formula out first (`find_math`), render it with KaTeX, and put the result in
Python-Markdown's *stash*: the text keeps only an opaque placeholder, and Markdown puts the
stashed HTML back at the very end.

Inline code is plain text with its names marked (see `highlight_inline_code`).
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from typing import Callable

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import BACKTICK_RE, InlineProcessor
from markdown.preprocessors import Preprocessor
from pygments.lexers import PythonLexer
from pygments.token import Error, Name

# The display environments KaTeX knows and we accept as blocks
ENVIRONMENTS = ('align', 'align*', 'aligned', 'equation', 'equation*', 'gather', 'gather*',
                'gathered', 'alignat', 'alignat*', 'multline', 'multline*', 'split',
                'cases', 'matrix', 'pmatrix', 'bmatrix', 'array', 'CD')
_ENV_RE = '|'.join(re.escape(e) for e in ENVIRONMENTS)

# One regex, tried left to right; the first alternative that matches wins.
MATH_SCAN_RE = re.compile(
    r'(?P<fence>^[ \t]*(?P<ticks>```+|~~~+)[^\n]*\n.*?^[ \t]*(?P=ticks)[ \t]*$)'
    r'|(?P<code>(?<!`)(?P<bt>`+)(?!`).+?(?<!`)(?P=bt)(?!`))'
    r'|(?P<escaped>\\\$)'
    r'|(?P<display>\$\$(?P<display_tex>.+?)\$\$)'
    r'|(?P<env>\\begin\{(?P<env_name>' + _ENV_RE + r')\}.*?\\end\{(?P=env_name)\})'
    r'|(?P<inline>\$(?P<inline_tex>[^$\n]*(?:\n(?![ \t]*\n)[^$\n]*)*?)\$)',
    re.S | re.M)


@dataclass(frozen=True)
class Formula:
    """A formula in the notes: its TeX, display mode and offset in the notes text."""
    tex: str
    display: bool
    start: int
    end: int


def find_math(text: str) -> list[Formula]:
    """Every formula in `text`, skipping code spans and fenced code blocks."""
    found = []
    for m in MATH_SCAN_RE.finditer(text):
        if m.group('display') is not None:
            found.append(Formula(m.group('display_tex').strip(), True, m.start(), m.end()))
        elif m.group('env') is not None:
            found.append(Formula(m.group('env'), True, m.start(), m.end()))
        elif m.group('inline') is not None:
            tex = m.group('inline_tex').strip()
            if tex:
                found.append(Formula(tex, False, m.start(), m.end()))
    return found


def math_error_html(tex: str, display: bool, error: str) -> str:
    """How a formula that KaTeX rejected is shown: its source, in a visible error style."""
    tag = 'div' if display else 'span'
    return (f'<{tag} class="math-error" title="{html.escape(error, quote=True)}">'
            f'{html.escape(tex)}</{tag}>')


_INLINE_LEXER = PythonLexer(stripnl=False, ensurenl=False)


def highlight_inline_code(code: str) -> str:
    """
    Inline code in the notes: plain text, with its names marked.

    Inline code is as often a command line, a flag or a file path (`--device`,
    `tests/test_optimizers.py`) as Python, so it is not coloured as Python: lexing a flag as
    Python gives an operator or an error token, which the dark theme paints bold red. Only the
    names are marked (as plain names, class `n`), so that clicking `state` in the notes
    highlights `state` in the code; and only when the text lexes as Python without an error.
    """
    tokens = list(_INLINE_LEXER.get_tokens(code))
    if any(t in Error for t, _ in tokens):
        return f'<code class="highlight">{html.escape(code, quote=False)}</code>'
    out = []
    for ttype, value in tokens:
        text = html.escape(value, quote=False)
        # Every kind of name is a plain name (`n`): no colour, no bold, still clickable
        out.append(f'<span class="n">{text}</span>' if ttype in Name and value.strip() else text)
    body = ''.join(out).rstrip('\n')
    return f'<code class="highlight">{body}</code>'


class _MathPreprocessor(Preprocessor):
    """Replace each formula by a stash placeholder holding its rendered HTML."""

    def __init__(self, md, render_math: Callable[[str, bool], str]):
        super().__init__(md)
        self.render_math = render_math

    def run(self, lines):
        text = '\n'.join(lines)
        separator = getattr(self.md, 'pylit_separator', None)
        if separator:
            # Several sections' notes in one document (`NotesRenderer.render_many`): each one's math on its own
            return '\n'.join(self._math('\n'.join(part)) for part in _split_lines(lines, separator)).split('\n')
        return self._math(text).split('\n')

    def _math(self, text: str) -> str:
        out, pos = [], 0
        for f in find_math(text):
            # An escaped dollar sign `\$` is a plain `$`
            out.append(text[pos:f.start].replace('\\$', '$'))
            placeholder = self.md.htmlStash.store(self.render_math(f.tex, f.display))
            # A display block on its own lines stays a block of its own
            out.append(placeholder)
            pos = f.end
        out.append(text[pos:].replace('\\$', '$'))
        return ''.join(out)


def _split_lines(lines: list[str], separator: str) -> list[list[str]]:
    """`lines` cut at each line that is `separator`, which stays at the start of the next part."""
    parts = [[]]
    for line in lines:
        if line == separator:
            parts.append([])
        parts[-1].append(line)
    return parts


class _HighlightedBacktick(InlineProcessor):
    """`code` spans, highlighted with Pygments."""

    def handleMatch(self, m, data):
        if m.group(3):
            code = m.group(3).strip()
            return self.md.htmlStash.store(highlight_inline_code(code)), m.start(0), m.end(0)
        # An escaped backtick
        return m.group(1).replace('\\\\', '\\'), m.start(0), m.end(0)


class MathExtension(Extension):
    """Math through the stash, and Pygments for inline code."""

    def __init__(self, render_math, **kwargs):
        self.render_math = render_math
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        # After whitespace normalisation (30), which would delete the placeholders' control
        # characters, and before fenced code (25) and raw HTML (20)
        md.preprocessors.register(_MathPreprocessor(md, self.render_math), 'math', 27)
        md.inlinePatterns.register(_HighlightedBacktick(BACKTICK_RE, md), 'backtick', 190)


class NotesRenderer:
    """
    Renders the notes of one page, section by section.

    `render_math(tex, display)` returns the HTML of a formula. Heading ids are unique across
    the whole page, so `#anchors` can point at any heading.

    Making a Python-Markdown instance with its extensions costs more than rendering a
    section, so each thread keeps one, reset before every section, and the renderer whose
    section it renders lends it its math and its heading ids.
    """

    def __init__(self, render_math: Callable[[str, bool], str]):
        self._ids: set[str] = set()
        self.render_math = render_math

    def _slugify(self, value: str, separator: str) -> str:
        base = re.sub(r'[^\w\s-]', '', value).strip().lower()
        base = re.sub(r'[\s_-]+', separator, base) or 'section'
        slug, i = base, 1
        while slug in self._ids:
            slug = f'{base}-{i}'
            i += 1
        self._ids.add(slug)
        return slug

    def render(self, docs: str) -> str:
        """The HTML of one section's notes."""
        md = _markdown()
        md.reset()
        if not docs.strip():
            return ''
        _LOCAL.current = self
        try:
            return md.convert(docs)
        finally:
            _LOCAL.current = None


    def render_many(self, docs: list[str]) -> list[str]:
        """
        The HTML of several sections' notes, the same as `[self.render(d) for d in docs]`.

        Most of the cost of a short section is Python-Markdown's fixed cost per document, so
        the sections are rendered as one document, cut apart by a separator paragraph. That
        gives the same HTML only when no Markdown construct can reach from one section into
        the next: raw HTML, fenced code, reference definitions, `[TOC]` and attribute lists
        with ids. Notes that hold any of these (outside their math) are rendered one by one,
        and so is everything if the separators do not come out as they went in.
        """
        wanted = [i for i, d in enumerate(docs) if d.strip()]
        html = [''] * len(docs)
        if len(wanted) > 1 and not any(_reaches_out(docs[i]) for i in wanted):
            joined = ('\n\n' + _SEPARATOR + '\n\n').join(docs[i] for i in wanted)
            md = _markdown()
            md.reset()
            md.pylit_separator = _SEPARATOR
            _LOCAL.current = self
            ids = set(self._ids)
            try:
                parts = md.convert(joined).split('\n<p>' + _SEPARATOR + '</p>\n')
            finally:
                md.pylit_separator = None
                _LOCAL.current = None
            if len(parts) == len(wanted) and all(_SEPARATOR not in p for p in parts):
                for i, part in zip(wanted, parts):
                    html[i] = part.strip()
                return html
            # Not cut as expected: render them one by one, with the heading ids as they were
            self._ids = ids
        for i in wanted:
            html[i] = self.render(docs[i])
        return html


# A paragraph of its own between two sections' notes (letters only: Markdown leaves it as it is)
_SEPARATOR = 'pylitsectionbreakq7z3x9'
# What may make a section's Markdown depend on its neighbours (looked for outside the math)
_REACHES_OUT_RE = re.compile(r'<|```|~~~|^ {0,3}\[[^\]\n]*\]:|\[TOC\]|\{[^}\n]*#|' + _SEPARATOR, re.M)


def _reaches_out(docs: str) -> bool:
    """Whether these notes hold a Markdown construct that could reach into the next section's."""
    pos, outside = 0, []
    for f in find_math(docs):
        outside.append(docs[pos:f.start])
        pos = f.end
    outside.append(docs[pos:])
    return _REACHES_OUT_RE.search(''.join(outside)) is not None


_LOCAL = threading.local()


def _markdown() -> markdown.Markdown:
    """This thread's Markdown instance; it renders for `_LOCAL.current`, a `NotesRenderer`."""
    md = getattr(_LOCAL, 'md', None)
    if md is None:
        md = _LOCAL.md = markdown.Markdown(
            extensions=[MathExtension(lambda tex, display: _LOCAL.current.render_math(tex, display)),
                        'tables', 'fenced_code', 'codehilite', 'toc', 'sane_lists', 'attr_list'],
            extension_configs={
                'codehilite': {'css_class': 'highlight', 'guess_lang': False},
                'toc': {'slugify': lambda value, separator: _LOCAL.current._slugify(value, separator),
                        'permalink': False},
            },
            output_format='html')
        inline = md.treeprocessors['inline'] if 'inline' in md.treeprocessors else None
        if isinstance(getattr(inline, 'inlinePatterns', None), markdown.util.Registry):
            # The inline processor looks its patterns up by position some 20 times per piece of
            # text; a Registry sorts itself on each lookup, a tuple does not (the patterns are
            # all registered by now)
            names = {item.name for item in getattr(inline.inlinePatterns, '_priority', ())}
            inline.inlinePatterns = tuple(inline.inlinePatterns)
            if names == set(_INLINE_PATTERNS) and hasattr(inline, '_InlineProcessor__handleInline'):
                # No inline pattern can match text without one of the characters they start
                # with: such text (most of it) is left as it is without trying all sixteen
                handle = inline._InlineProcessor__handleInline

                def handle_inline(data, patternIndex=0):
                    return handle(data, patternIndex) if _INLINE_TRIGGER_RE.search(data) else data
                inline._InlineProcessor__handleInline = handle_inline
    return md


# The inline patterns of our Markdown (Python-Markdown's own, with `backtick` ours), and a
# character every one of them needs: `code`, \escapes, [links] and ![images], <autolinks> and
# <html>, &entities;, *emphasis* and _emphasis_, and the two spaces of a line break
_INLINE_PATTERNS = ('backtick', 'escape', 'reference', 'link', 'image_link', 'image_reference', 'short_reference',
                    'short_image_ref', 'autolink', 'automail', 'linebreak', 'html', 'entity', 'not_strong',
                    'em_strong', 'em_strong2')
_INLINE_TRIGGER_RE = re.compile(r'[`\\\[<&*_]|  \n')


def render_notes(docs: str, render_math: Callable[[str, bool], str]) -> str:
    """Render one piece of notes on its own (a convenience for tests and tools)."""
    return NotesRenderer(render_math).render(docs)


def links_in(html_text: str) -> list[str]:
    """The `href`s of the links in rendered notes."""
    return re.findall(r'<a [^>]*?href="([^"]*)"', html_text)


__all__ = ['Formula', 'find_math', 'math_error_html', 'highlight_inline_code', 'NotesRenderer',
           'render_notes', 'links_in']
