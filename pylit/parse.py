"""
---
title: Parse a module into sections
summary: >
  How pylit cuts a Python source file into sections of notes and code,
  following the segmentation rules of the translation cache format.
---

# Parse a module into sections

A page is a list of *sections*: some notes (Markdown) and the code they explain.
The rules for cutting a file into sections are the ones in §2–§3 of
`specs/translate-cache-format.md`, because the translation keys are made from the same
sections and the two must agree:

* a run of comment lines (`#` as the first non-blank character) starts the notes of a new
  section whose code is what follows;
* a docstring (a triple-quoted string that is a whole statement) becomes notes too; a
  `def`/`class` header right above it goes with it, and a comment directly above that header
  joins the docstring's notes;
* every other line is code, kept exactly, with its line number.

We find comments and docstrings as Python's tokenizer does (see `_scan_tokens`), so a `#` or `\"\"\"` inside a string literal
never starts notes.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from dataclasses import dataclass, field

import yaml

# A `def`/`class` line, possibly indented (a method) or `async`.
HEADER_RE = re.compile(r'^\s*(async\s+def|def|class)\b')
# A decorator line.
DECORATOR_RE = re.compile(r'^\s*@')
# A triple-quoted string token with an optional `r`/`u` prefix.
DOCSTRING_RE = re.compile(r'^([rRuU]?)("""|\'\'\')', re.S)
# Front matter at the start of the first docstring.
FRONT_MATTER_RE = re.compile(r'^---[ \t]*\n(.*?\n)?---[ \t]*(\n|$)', re.S)


class ParseError(Exception):
    """A source file that cannot be read or tokenized; `lineno` points at the problem."""

    def __init__(self, message: str, lineno: int = 0):
        super().__init__(message)
        self.message = message
        self.lineno = lineno


@dataclass(frozen=True)
class Section:
    """
    One section of a page.

    * `docs` is the notes text (Markdown), built exactly as §3 of the spec says
    * `docs_lines` gives, for each line of `docs`, its line number in the source
    * `code` holds `(lineno, text)` for each code line, without the newline
    """
    docs: str
    docs_lines: tuple[int, ...]
    code: tuple[tuple[int, str], ...]

    @property
    def is_empty(self) -> bool:
        """Neither notes nor any non-blank code."""
        return not self.docs.strip() and not any(text.strip() for _, text in self.code)

    def line_of(self, offset: int) -> int:
        """Source line number of the character at `offset` in `docs`."""
        if not self.docs_lines:
            return self.code[0][0] if self.code else 0
        idx = self.docs.count('\n', 0, offset)
        return self.docs_lines[min(idx, len(self.docs_lines) - 1)]


@dataclass(frozen=True)
class Module:
    """
    A parsed module.

    * `front_matter` is the YAML mapping at the top of the first docstring (empty if none)
    * `title` and `summary` come from it; `h1_title` is the first `# ` heading of the first
      docstring when there is no front matter, per §2.2 of the spec
    """
    sections: tuple[Section, ...]
    front_matter: dict = field(default_factory=dict)
    has_front_matter: bool = False
    h1_title: str | None = None
    empty_file: bool = False

    @property
    def title(self) -> str | None:
        value = self.front_matter.get('title')
        return None if value is None else str(value).strip()

    @property
    def summary(self) -> str | None:
        value = self.front_matter.get('summary')
        return None if value is None else str(value).strip()

    @property
    def year(self) -> int | None:
        """The paper's year: front matter `year`, else the first arXiv link's (`arxiv.org/abs/YYMM.`)."""
        value = self.front_matter.get('year')
        if value is not None:
            try:
                return int(str(value).strip())
            except ValueError:
                return None
        for s in self.sections:
            m = re.search(r'arxiv\.org/(?:abs|pdf)/(\d{2})(\d{2})\.\d{4,5}', s.docs)
            if m:
                return 2000 + int(m.group(1))
        return None

    @property
    def bibtex(self) -> str | None:
        """The citation of the paper, front matter `bibtex` (a BibTeX entry)."""
        value = self.front_matter.get('bibtex')
        return None if value is None else str(value).strip()


@dataclass
class _Builder:
    """Mutable state while walking the lines; turned into frozen `Section`s at the end."""
    sections: list = field(default_factory=list)
    docs: str = ''
    docs_lines: list = field(default_factory=list)
    code: list = field(default_factory=list)

    def flush(self):
        self.sections.append(Section(self.docs, tuple(self.docs_lines), tuple(self.code)))
        self.docs, self.docs_lines, self.code = '', [], []

    def add_docs(self, text: str, first_line: int):
        # One line number per line of `text` (a line without a trailing newline counts too).
        n = text.count('\n') + (0 if text.endswith('\n') else 1)
        if not text:
            n = 0
        self.docs += text
        self.docs_lines.extend(range(first_line, first_line + n))


def decode_source(data: bytes, path: str = '<source>') -> str:
    """Read source bytes as UTF-8 (a byte-order mark is ignored) with `\\n` line endings."""
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b'\n') + 1
        raise ParseError(f'not valid UTF-8 ({e.reason}); save the file as UTF-8', line) from None
    return text.replace('\r\n', '\n').replace('\r', '\n')


# The comments and string literals of Python source, left to right (whatever else lies between
# them is code). A string's prefix (`r`, `b`, `f`, ...) is the identifier run just before its
# quote, when that run is a prefix.
_TOKEN_RE = re.compile(
    r'(?P<comment>\#[^\n]*)'
    r'|(?P<string>"""(?:[^"\\]+|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]+|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]+|\\.)*"'
    r"|'(?:[^'\\\n]+|\\.)*')", re.S)
_STRING_PREFIXES = frozenset({'', 'r', 'u', 'b', 'f', 'br', 'rb', 'fr', 'rf'})


def _identifier_char(ch: str) -> bool:
    return ch.isalnum() or ch == '_' or (ord(ch) > 127 and ch.isidentifier())


def _scan_tokens(text: str):
    """
    Find the comment lines and the docstrings.

    Returns the set of line numbers that are comment lines and a map from the first line of
    each docstring to `(end_line, end_col, token_text, start_col)`.

    A comment line is one whose first token is a comment. A docstring is a triple-quoted
    string (`DOCSTRING_RE`) that is a whole statement: the first token of a logical line
    (nothing before it on its line, no open bracket, no backslash continuation) followed by
    nothing but a comment. That is what `tokenize` says (compared on the standard library's
    thirteen thousand modules), found with one regular expression for comments and strings
    instead of Python's tokenizer, which takes ten times as long.
    """
    try:
        with warnings.catch_warnings():
            # Invalid escapes such as `\alpha` in a docstring are the author's business, not ours
            warnings.simplefilter('ignore')
            ast.parse(text)
    except SyntaxError as e:
        raise ParseError(f'syntax error: {e.msg}', e.lineno or 0) from None
    comment_lines = set()
    docstrings = {}
    starts = [0]
    i = text.find('\n')
    while i >= 0:
        starts.append(i + 1)
        i = text.find('\n', i + 1)
    depth = 0
    # The end of the previous token: the code lies between tokens
    pos = 0
    for m in _TOKEN_RE.finditer(text):
        s, e = m.start(), m.end()
        if s > pos:
            code = text[pos:s]
            depth += (code.count('(') + code.count('[') + code.count('{')
                      - code.count(')') - code.count(']') - code.count('}'))
        row = bisect.bisect_right(starts, s)
        line_start = starts[row - 1]
        if m.lastgroup == 'comment':
            if not text[line_start:s].strip():
                comment_lines.add(row)
            pos = e
            continue
        start = s
        while start > line_start and _identifier_char(text[start - 1]):
            start -= 1
        if text[start:s].lower() not in _STRING_PREFIXES:
            start = s
        token = text[start:e]
        if depth == 0 and DOCSTRING_RE.match(token) and not text[line_start:start].strip():
            # Not a continuation of the line before (a backslash at its end, in code)
            continued = line_start >= 2 and line_start - 2 >= pos and text[line_start - 2] == '\\'
            line_end = text.find('\n', e)
            rest = text[e:len(text) if line_end < 0 else line_end]
            hash_at = rest.find('#')
            before = rest if hash_at < 0 else rest[:hash_at]
            # Only a comment may follow it on its line
            if not continued and not before.strip() and (
                    hash_at < 0 or _TOKEN_RE.match(text, e + hash_at).lastgroup == 'comment'):
                end_row = bisect.bisect_right(starts, e - 1)
                docstrings[row] = (end_row, e - starts[end_row - 1], token, start - line_start)
        pos = e
    return comment_lines, docstrings


def _docstring_text(lines: list[str], start: int, end: int, end_col: int,
                    token: str, col: int) -> str:
    """
    The notes text of a docstring, per §3: the inner text, with the opening line's
    indentation removed from each following line.
    """
    prefix = DOCSTRING_RE.match(token)
    opening = lines[start - 1]
    body_start = col + len(prefix.group(0))
    # The closing quotes end at `end_col`
    body_end = end_col - 3
    if start == end:
        return opening[body_start:body_end] + '\n'
    indent = opening[:len(opening) - len(opening.lstrip())]
    parts = [opening[body_start:]]
    for lineno in range(start + 1, end + 1):
        line = lines[lineno - 1]
        if lineno == end:
            line = line[:body_end]
        if indent and line.startswith(indent):
            line = line[len(indent):]
        parts.append(line)
    return '\n'.join(parts).rstrip()


def _header_start(code: list) -> int | None:
    """Index in `code` where the trailing `def`/`class` header (with decorators) begins."""
    idx = None
    for i in range(len(code) - 1, -1, -1):
        if HEADER_RE.match(code[i][1]):
            idx = i
            break
    if idx is None:
        return None
    while idx > 0 and DECORATOR_RE.match(code[idx - 1][1]):
        idx -= 1
    return idx


# Front matter is a few lines of metadata: more than this is a mistake (or an attack)
FRONT_MATTER_LIMIT = 64 * 1024


class FrontMatterLoader(yaml.SafeLoader):
    """
    YAML's safe loader without aliases: `*name` can expand a few hundred bytes into gigabytes
    (a "billion laughs"), and front matter never needs them.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, 'aliases (*name) are not allowed in front matter; '
                                              'write the value out', event.start_mark)
        return super().compose_node(parent, index)


def load_front_matter(text: str, first_line: int = 1) -> dict:
    """
    The YAML mapping of a front matter block whose first line is source line `first_line`;
    a `ParseError` points at the source line of the problem.
    """
    if len(text) > FRONT_MATTER_LIMIT:
        raise ParseError(f'front matter is {len(text)} characters long (the limit is {FRONT_MATTER_LIMIT}); '
                         f'keep it to a few fields', first_line)
    try:
        data = yaml.load(text, Loader=FrontMatterLoader) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        line = first_line + mark.line if mark else first_line
        raise ParseError(f'front matter is not valid YAML: {getattr(e, "problem", None) or e}', line) from None
    except RecursionError:
        raise ParseError('front matter nests too deeply', first_line) from None
    if not isinstance(data, dict):
        raise ParseError('front matter must be a YAML mapping (title: ..., summary: ...)', first_line)
    return data


def _split_front_matter(docs: str, first_line: int = 1) -> tuple[dict, str, int, bool]:
    """
    Split YAML front matter off the first docstring's text, whose first line is source line
    `first_line`.

    Returns `(front_matter, rest, lines_removed, found)`.
    """
    stripped = docs.lstrip()
    match = FRONT_MATTER_RE.match(stripped)
    if not match:
        return {}, docs, 0, False
    # The YAML starts on the line after the opening `---`
    yaml_line = first_line + docs[:len(docs) - len(stripped)].count('\n') + 1
    data = load_front_matter(match.group(1) or '', yaml_line)
    rest = stripped[match.end():]
    removed_prefix = docs[:len(docs) - len(stripped)] + stripped[:match.end()]
    body = rest.lstrip()
    removed_prefix += rest[:len(rest) - len(body)]
    return data, body, removed_prefix.count('\n'), True


def _h1_title(docs: str) -> str | None:
    """Title from a leading `# ` heading (§2.2), with links reduced to their text."""
    text = docs.lstrip()
    if not text.startswith('# '):
        return None
    line = text[2:].split('\n', 1)[0]
    return re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', line)


def parse_module(text: str) -> Module:
    """
    Cut a module's source text into sections.

    `text` must already use `\\n` line endings (see `decode_source`).
    """
    if text == '':
        return Module(sections=(), empty_file=True)
    lines = text.split('\n')
    # A final newline does not start another line
    if lines and lines[-1] == '':
        lines.pop()
    try:
        comment_lines, docstrings = _scan_tokens(text)
    except (RecursionError, MemoryError):
        raise ParseError('the code nests too deeply for Python to parse') from None
    b = _Builder()
    first_docstring = True
    front_matter, has_front_matter, h1 = {}, False, None
    lineno = 1
    while lineno <= len(lines):
        line = lines[lineno - 1]
        if lineno in comment_lines:
            # Remove the indentation, the `#` and at most one space
            content = line.lstrip()[1:]
            if content.startswith(' '):
                content = content[1:]
            if b.code:
                b.flush()
            b.add_docs(content + '\n', lineno)
            lineno += 1
        elif lineno in docstrings:
            end, end_col, token, col = docstrings[lineno]
            doc = _docstring_text(lines, lineno, end, end_col, token, col)
            doc_first = lineno
            if first_docstring:
                first_docstring = False
                front_matter, doc, removed, has_front_matter = _split_front_matter(doc, doc_first)
                doc_first += removed
                if not has_front_matter:
                    h1 = _h1_title(doc)
            start = _header_start(b.code)
            header = b.code[start:] if start is not None else []
            if b.docs and header and len(header) == len(b.code):
                b.add_docs(doc, doc_first)
            else:
                if start is not None:
                    b.code = b.code[:start]
                b.flush()
                b.code = list(header)
                b.add_docs(doc, doc_first)
            b.flush()
            lineno = end + 1
        else:
            b.code.append((lineno, line))
            lineno += 1
    b.flush()
    sections = tuple(s for s in b.sections if s.docs or s.code)
    return Module(sections=sections, front_matter=front_matter,
                  has_front_matter=has_front_matter, h1_title=h1)
