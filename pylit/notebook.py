"""
# A Jupyter notebook from a module

Every tutorial page `x/y.html` gets `x/y.ipynb` beside it, written with `nbformat`: the notes
become Markdown cells (their math stays `$...$`, which Jupyter typesets) and the code becomes
code cells, in reading order.

A notebook cell must hold whole statements, but notes also sit *inside* a class or a
function (a method's docstring, a comment above a line). So a code cell runs from one
top-level statement to the next, and the notes inside it become Python comments at the
indentation of the code they explain.

A module that runs in seconds declares `notebook: run` in its front matter; the tests execute
those notebooks.
"""

from __future__ import annotations

from .parse import Module


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _as_comments(docs: str, indent: str) -> list[str]:
    return [f'{indent}# {line}'.rstrip() for line in docs.rstrip('\n').split('\n')]


def notebook_cells(module: Module) -> list[tuple[str, str]]:
    """`[(kind, source)]` with kind `markdown` or `code`."""
    cells: list[tuple[str, str]] = []
    code: list[str] = []

    def flush():
        while code and not code[-1].strip():
            code.pop()
        while code and not code[0].strip():
            code.pop(0)
        if code:
            cells.append(('code', '\n'.join(code)))
        code.clear()

    for s in module.sections:
        lines = [text for _, text in s.code]
        first = next((l for l in lines if l.strip()), None)
        last = next((l for l in reversed(code) if l.strip()), None)
        if first is None:
            # Only blank lines: inside a block while the code so far is indented or opens one
            continues = last is not None and (last[:1] in (' ', '\t') or last.rstrip().endswith(':'))
            probe = last if last is None or last[:1] in (' ', '\t') else '    '
        else:
            continues = last is not None and first[:1] in (' ', '\t')
            probe = first
        if s.docs.strip():
            if continues:
                code.extend(_as_comments(s.docs, _indent(probe)))
            else:
                flush()
                cells.append(('markdown', s.docs.strip('\n')))
        elif not continues and first is not None:
            flush()
        code.extend(lines)
    flush()
    return cells


def make_notebook(module: Module, title: str | None = None) -> str:
    """The notebook as JSON text, nbformat 4 (the tests validate it against nbformat's schema)."""
    import nbformat
    from nbformat.v4 import writes
    cells = notebook_cells(module)
    if title and not (cells and cells[0][0] == 'markdown' and cells[0][1].lstrip().startswith('# ')):
        cells.insert(0, ('markdown', f'# {title}'))
    nb = {'nbformat': 4, 'nbformat_minor': 5, 'cells': [],
          'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
                       'language_info': {'name': 'python'}}}
    for i, (kind, source) in enumerate(cells):
        cell = {'cell_type': kind, 'id': f'cell-{i}', 'metadata': {}, 'source': source}
        if kind == 'code':
            cell.update(execution_count=None, outputs=[])
        nb['cells'].append(cell)
    return writes(nbformat.from_dict(nb)) + '\n'
