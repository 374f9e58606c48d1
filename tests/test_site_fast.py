"""
The shortcuts of the fast site build give what the plain way gives: comments and docstrings
found without `tokenize` (against `tokenize` itself), every section's notes rendered as one
Markdown document (against one by one), inline text without markup skipping the inline patterns
(against plain Python-Markdown), KaTeX fed ahead of time (each formula sent once), pages written
by the render workers and files alike in every language linked rather than copied.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from pathlib import Path

import markdown
import pytest

from pylit.build import BuildOptions, build
from pylit.parse import DOCSTRING_RE, _scan_tokens

REPO = Path(__file__).resolve().parent.parent


# ## Comments and docstrings without `tokenize`

def _with_tokenize(text: str):
    """The reference: comment lines and docstrings as Python's tokenizer gives them."""
    comment_lines, docstrings = set(), {}
    lines = text.split('\n')
    starters = {None, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    prev = None
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            if not lines[tok.start[0] - 1][:tok.start[1]].strip():
                comment_lines.add(tok.start[0])
            continue
        if tok.type == tokenize.NL:
            continue
        if tok.type == tokenize.STRING and prev in starters and DOCSTRING_RE.match(tok.string):
            j = i + 1
            while j < len(tokens) and tokens[j].type == tokenize.COMMENT:
                j += 1
            if j >= len(tokens) or tokens[j].type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                docstrings[tok.start[0]] = (tok.end[0], tok.end[1], tok.string, tok.start[1])
        prev = tok.type
    return comment_lines, docstrings


TRICKY = [
    '"""Doc."""\n# a comment\nx = 1  # not a comment line\n',
    'def f():\n    r"""\n    # not a comment: inside the docstring\n    """\n    return 1\n',
    'x = ("a"\n     # a comment between two parts of one string\n     "b")\n"""Doc after."""\n',
    'if"abc" in "abcd": pass\n"""Doc."""  # with a comment\n',
    'x = 1; """not a docstring"""\ny = """not one either"""\n',
    'x = 1 + \\\n    2\n"""Doc."""\n',
    'z = [\n"""inside brackets"""\n]\n',
    "s = 'it\\'s # not a comment'\n'''Doc.'''\n",
    'f = rb"\\d+ # no"; g = f"{1 + 2} # no"\nu"""Doc."""\nb"""bytes: not a docstring"""\n',
    '"""One.""" """Two: not a docstring"""\n',
    'class A:\n    """Doc."""\n\n    def m(self):  # comment after code\n        """Method doc."""\n        # note\n        return "#"\n',
    's = """a\nb # inside\n"""  # after\n',
    'x = \'a\\\nb\'\n# comment\n',
    'é = 1\n"""Doc."""\n',
]


@pytest.mark.parametrize('text', TRICKY)
def test_comments_and_docstrings_are_found_as_tokenize_finds_them(text):
    assert _scan_tokens(text) == _with_tokenize(text)


def test_the_scanner_agrees_with_tokenize_on_pylit_and_the_site():
    files = sorted((REPO / 'pylit').rglob('*.py')) + sorted((REPO / 'labml_nn').rglob('*.py'))
    assert len(files) > 50
    for p in files:
        text = p.read_text(encoding='utf-8').replace('\r\n', '\n')
        assert _scan_tokens(text) == _with_tokenize(text), p


# ## Notes in one Markdown document

def _math(tex, display):
    return f'<span class="katex">{"D" if display else "I"}:{tex}</span>'


NOTES = [
    '# A title\n\nSome *text* with $x_1 * y_2$ and `code`.\n',
    '## A title\n\n* one\n* two\n',
    '    indented code at the start\n',
    '## A title\n\nA list that ends the section:\n\n1. first\n2. second\n',
    'Display math:\n\n$$a_1 * b_2$$\n\nand an \\$escaped dollar.\n',
    '',
    '| a | b |\n|---|---|\n| 1 | 2 |\n',
    'A paragraph with a trailing  \nline break and _emphasis_ and &amp; an entity.\n',
]
# Each of these makes the notes render one by one
REACHING = ['<div>raw html', '```\nfenced\n```\n', '[ref]: https://example.org\n\n[a link][ref]\n', '[TOC]\n',
            '## Heading {#custom-id}\n', '   \nleading blank line with spaces\n']


def _one_by_one(docs):
    from pylit.notes import NotesRenderer
    r = NotesRenderer(_math)
    return [r.render(d) for d in docs]


@pytest.mark.parametrize('extra', [None] + REACHING)
def test_notes_rendered_together_equal_notes_rendered_one_by_one(extra):
    from pylit.notes import NotesRenderer
    docs = NOTES + ([extra, '## A title\n\nMore.\n'] if extra else [])
    assert NotesRenderer(_math).render_many(docs) == _one_by_one(docs)
    # Heading ids stay unique across the page either way
    html = ''.join(NotesRenderer(_math).render_many(docs))
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)) > 0


def test_inline_shortcut_gives_plain_python_markdowns_html():
    from pylit.notes import NotesRenderer
    plain = markdown.Markdown(extensions=['tables', 'sane_lists', 'attr_list'], output_format='html')
    texts = ['Plain words only, nothing to mark.', 'A [link](x.html), *em*, __strong__, <b>html</b>, &amp;.',
             'A line  \nbreak', 'Snake_case_name and 2 * 3 * 4']
    for text in texts:
        plain.reset()
        assert NotesRenderer(_math).render(text) == plain.convert(text)


# ## KaTeX fed ahead

def test_prefetched_formulas_are_typeset_once_and_answered_in_order(monkeypatch):
    from pylit.mathrender import KatexPool, find_node_modules
    sent = []
    real_send = KatexPool._send
    monkeypatch.setattr(KatexPool, '_send', lambda self, batch: sent.extend(batch) or real_send(self, batch))
    formulas = [(f'x_{{{i}}}^2', i % 2 == 0) for i in range(120)]
    with KatexPool(find_node_modules(REPO)) as pool:
        pool.prefetch(formulas[:100])
        pool.prefetch(formulas[:10], flush=True)
        asked = formulas[50:] + [('\\nope', False)] + formulas[:3]
        results = pool.render(asked)
    assert sorted(sent) == sorted(set(formulas) | {('\\nope', False)})
    # Each answer is its own formula's (KaTeX keeps the TeX in the MathML)
    assert len(results) == len(asked) == 74
    for (tex, display), r in zip(asked, results):
        if tex == '\\nope':
            assert r.html is None and 'nope' in r.error
        else:
            assert f'<annotation encoding="application/x-tex">{tex}</annotation>' in r.html
            assert ('katex-display' in r.html) == display


# ## Pages written by the workers; files alike in every language linked

def _tree(write_tree):
    return write_tree({
        '__init__.py': '"""\n---\ntitle: Home\nsummary: Home.\n---\n\n# Home\n\n* [A](a.html)\n"""\n',
        'a.py': '"""\n---\ntitle: A\nsummary: A page.\n---\n\n# A\n\nIt computes $x^2$.\n"""\nx = 1\n',
        'bad.py': '"""\n# Bad\n\n' + '\n'.join('    ' * i + '* item' for i in range(40)) + '\n"""\n',
    })


def _run(root, out, cache):
    opts = BuildOptions(out_dir=out, paths=tuple(sorted(os.listdir(root))), root=root, jobs=2, title_md=True,
                        languages=('en', 'zh'), translate_cache=cache)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return build(opts)
    finally:
        os.chdir(cwd)


def test_workers_write_the_pages_and_languages_share_files_by_links(write_tree, tmp_path):
    root = _tree(write_tree)
    out = tmp_path / 'docs'
    report = _run(root, out, tmp_path / 'cache')
    # One bad module is one error; nothing half-written is left anywhere
    assert [e.path for e in report.errors] == ['bad.py']
    assert not [p for p in out.rglob('*') if p.name.endswith('.tmp')]
    for page in ('index.html', 'a.html', 'zh/index.html', 'zh/a.html'):
        assert (out / page).stat().st_mode & 0o777 == 0o644
        assert (out / page).read_text().rstrip().endswith('</html>')
    assert not (out / 'bad.html').exists()
    # The copy of each module and the static files exist once on disk, in both languages
    for rel in ('a.py', 'static/site.css', 'static/katex/katex.min.css'):
        en, zh = out / rel, out / 'zh' / rel
        assert en.read_bytes() == zh.read_bytes()
        assert os.path.samefile(en, zh)
    # A rebuild after an edit keeps unchanged files as they were, and the permissions of a file
    os.chmod(out / 'a.html', 0o664)
    before, page = (out / 'index.html').stat().st_mtime_ns, (out / 'a.html').read_text()
    (root / 'a.py').write_text((root / 'a.py').read_text() + 'y = 2\n')
    again = _run(root, out, tmp_path / 'cache')
    assert 'a.py' in again.built
    assert (out / 'a.html').stat().st_mode & 0o777 == 0o664 and (out / 'a.html').read_text() != page
    assert (out / 'index.html').stat().st_mtime_ns == before
    assert not [p for p in out.rglob('*') if p.name.endswith('.tmp')]


def test_link_atomic_and_commit_staged(tmp_path):
    from pylit.write import commit_staged, link_atomic, write_atomic
    first = tmp_path / 'en' / 'x.txt'
    write_atomic(first, 'same')
    second = tmp_path / 'zh' / 'x.txt'
    assert link_atomic(first, second, 'same') and os.path.samefile(first, second)
    assert not link_atomic(first, second, 'same')
    # A file that is not where it should be: written instead
    assert link_atomic(tmp_path / 'missing.txt', tmp_path / 'ja' / 'x.txt', 'same')
    assert (tmp_path / 'ja' / 'x.txt').read_text() == 'same'
    staged = tmp_path / 'en' / '.y.txt.abcd1234.tmp'
    staged.write_text('new')
    assert commit_staged(staged, tmp_path / 'en' / 'y.txt') and not staged.exists()
    staged.write_text('new')
    assert not commit_staged(staged, tmp_path / 'en' / 'y.txt') and not staged.exists()
