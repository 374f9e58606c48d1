"""
# Highlight the code column

The whole file is highlighted at once with Pygments, so a string or a bracket that spans
several lines is coloured correctly, and then cut into lines. Each section then takes its own
lines by line number: the code keeps its exact text and its original numbering.
"""

from __future__ import annotations

import re

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

# Made once: building a formatter computes its whole style sheet
_LEXER = PythonLexer(stripnl=False, stripall=False, ensurenl=True, tabsize=0)
_FORMATTER = HtmlFormatter(nowrap=True)


def highlight_lines(source: str) -> list[str]:
    """
    The highlighted HTML of each line of `source`; item `i` is line `i + 1`.

    Pygments' HTML formatter closes every `<span>` at the end of a line, so each line is
    valid HTML on its own.
    """
    if not source:
        return []
    out = highlight(source, _LEXER, _FORMATTER)
    lines = out.split('\n')
    # The formatter ends with a newline; the text after it is not a line
    if lines and lines[-1] == '':
        lines.pop()
    return lines


def pygments_css(style: str, selector: str) -> str:
    """The CSS of a Pygments style, scoped under `selector` (without Pygments' `/* Token.Name */` notes)."""
    return re.sub(r'[ \t]*/\*.*?\*/', '', HtmlFormatter(style=style).get_style_defs(selector))
