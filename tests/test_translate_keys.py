"""
Golden tests of the translation keys (spec `translate-cache-format.md`, §2 and §4–§7).

The expected keys are written out by hand from the spec's rules; `PH(n)` is the placeholder.
"""

import textwrap

import pytest

from pylit.parse import parse_module
from pylit.translate.cache import dumps, escaped_dumps
from pylit.translate.keys import (KEYS_VERSION, SPLIT_LIMIT, Fragment, docs_chunks, module_chunks,
                                  module_keys, readme_keys, section_chunks, title_key)


def PH(n):
    return f'<span translate=no>_^_{n}_^_</span>'


def keys_of(src: str, filename: str = 'fixture.py') -> list[str]:
    return module_keys(parse_module(textwrap.dedent(src).lstrip('\n')), filename)


def chunk(docs: str) -> str:
    (c,) = docs_chunks(docs)
    return c.key


# The worked example of §9, verbatim
SPEC_EXAMPLE = r'''"""
---
title: Input Scaler
summary: >
 A tiny example module that scales
 its input.
---

# Input Scaler

We scale the input by $\alpha$
 and then add `bias`. It's "simple" & fast.

\begin{align}
y &= \alpha x + b
\end{align}

* `alpha` is the scale
* `bias` is the offset
"""
class Scaler:
    """
    ## Scaler module

    :param alpha: is the scale $\alpha$
    :return: the scaled tensor
    """
    def __init__(self, alpha):
        """Create the scaler"""
        # Store   $\alpha$
        self.alpha = alpha
        #
        self.n = 0

    # ### Apply
    @torch.no_grad()
    def apply(self, x):
        """
        Returns $\alpha x$.
        """
'''

SPEC_KEYS = [
    'Input Scaler',
    'A tiny example module that scales its input.',
    f'<h1>Input Scaler</h1>\n<p>We scale the input by {PH(0)}  and then add {PH(1)}. '
    f'It&#x27;s &quot;simple&quot; &amp; fast.</p>\n{PH(2)}<ul><li>{PH(3)} is the scale </li>\n'
    f'<li>{PH(4)} is the offset</li></ul>\n',
    f'<h2>Scaler module</h2>\n<ul><li>{PH(0)}  is the scale {PH(1)} </li>\n'
    f'<p><em>Returns</em>  the scaled tensor</p></ul>\n',
    '<p>Create the scaler </p>\n',
    f'<p>Store {PH(0)} </p>\n',
    '<p> </p>\n',
    f'<h3>Apply</h3>\n<p>Returns {PH(0)}.</p>\n',
]


def test_spec_worked_example_keys_exactly():
    assert module_keys(parse_module(SPEC_EXAMPLE), 'scaler.py') == SPEC_KEYS


def test_spec_worked_example_fragments():
    chunks = module_chunks(parse_module(SPEC_EXAMPLE))
    assert chunks[0].fragments == (
        Fragment('math', r'\alpha'), Fragment('code', 'bias'),
        Fragment('align', '\\begin{align}\ny &= \\alpha x + b\n\\end{align}'),
        Fragment('code', 'alpha'), Fragment('code', 'bias'))
    assert chunks[1].fragments == (Fragment('code', 'alpha'), Fragment('math', r'\alpha'))
    assert chunks[2].fragments == ()
    assert chunks[-1].fragments == (Fragment('math', r'\alpha x'),)


def test_spec_worked_example_file_bytes():
    text = dumps({k: k for k in SPEC_KEYS})
    assert text.startswith('{\n "')
    assert text.endswith('"\n}')
    assert not text.endswith('\n')
    # one entry per line, sorted; UTF-8 text, not escapes (issue 15), the reference's escaped form
    # still loads to the same value
    lines = text.split('\n')
    assert len(lines) == len(SPEC_KEYS) + 2
    assert all(line.startswith(' "') for line in lines[1:-1])
    assert lines[1].startswith(' "<h1>Input Scaler')
    assert dumps({}) == '{}'
    assert dumps({'Newton’s 😀': 'x'}) == '{\n "Newton’s 😀": "x"\n}'
    assert escaped_dumps({'Newton’s 😀': 'x'}) == '{\n "Newton\\u2019s \\ud83d\\ude00": "x"\n}'


def test_spec_worked_example_cache_file_golden(tmp_path):
    from pylit.translate.cache import TranslationCache
    c = TranslationCache(tmp_path, 'scaler', 'zh')
    c.sync(module_keys(parse_module(SPEC_EXAMPLE), 'scaler.py'))
    ph = '<span translate=no>_^_{}_^_</span>'.format
    h1 = (f'<h1>Input Scaler</h1>\\n<p>We scale the input by {ph(0)}  and then add {ph(1)}. '
          f'It&#x27;s &quot;simple&quot; &amp; fast.</p>\\n{ph(2)}<ul><li>{ph(3)} is the scale </li>\\n'
          f'<li>{ph(4)} is the offset</li></ul>\\n')
    h2 = (f'<h2>Scaler module</h2>\\n<ul><li>{ph(0)}  is the scale {ph(1)} </li>\\n'
          f'<p><em>Returns</em>  the scaled tensor</p></ul>\\n')
    h3 = f'<h3>Apply</h3>\\n<p>Returns {ph(0)}.</p>\\n'
    entries = [h1, h2, h3, '<p> </p>\\n', '<p>Create the scaler </p>\\n', f'<p>Store {ph(0)} </p>\\n',
               'A tiny example module that scales its input.', 'Input Scaler']
    expected = '{\n' + ',\n'.join(f' "{e}": "{e}"' for e in entries) + '\n}'
    assert c.path.read_text() == expected


def test_keys_version_is_an_int():
    assert isinstance(KEYS_VERSION, int) and KEYS_VERSION >= 1


# ## Titles and summaries


def test_front_matter_title_and_summary_plain_text():
    keys = keys_of('''
        """
        ---
        title: "Ratios & <tags> aren't escaped"
        summary: >
          First line of the summary
          and its second line.

            An indented line keeps its newline.
        redirect: elsewhere.html
        ---

        Body text.
        """
    ''')
    assert keys[0] == "Ratios & <tags> aren't escaped"
    assert keys[1] == ('First line of the summary and its second line.\n\n'
                       '  An indented line keeps its newline.')
    # the docs after the closing --- lose their leading whitespace; no redirect key
    assert keys[2:] == ['<p>Body text.</p>\n']


def test_title_from_h1_without_front_matter_links_reduced():
    src = '"""\n#  The [Adam](adam.html) optimizer \n\nText\n"""\n'
    m = parse_module(src)
    assert title_key(m, 'x.py') == ' The Adam optimizer '
    assert module_keys(m, 'x.py')[0] == ' The Adam optimizer '


def test_title_falls_back_to_file_name():
    m = parse_module('x = 1\n')
    assert module_keys(m, 'scaler.py') == ['scaler.py']
    m = parse_module('"""\n## Not an h1\n"""\n')
    assert module_keys(m, 'scaler.py') == ['scaler.py', '<h2>Not an h1</h2>\n']


def test_empty_file_has_no_keys():
    m = parse_module('')
    assert module_keys(m, 'empty.py') == []
    assert title_key(m, 'empty.py') is None


# ## Docstrings and comments


def test_module_class_and_function_docstrings():
    keys = keys_of('''
        """
        Module notes.
        """


        class Model:
            """
            Class notes
            over two lines.
            """

            def forward(self, x):
                """Single line"""
                return x


        def helper():
            r"""
            Raw docstring with \\alpha.
            """
    ''', 'model.py')
    assert keys == [
        'model.py',
        '<p> Module notes.</p>\n',
        '<p> Class notes over two lines.</p>\n',
        '<p>Single line </p>\n',
        '<p> Raw docstring with \\alpha.</p>\n',
    ]


def test_comment_runs_and_paragraph_breaks():
    keys = keys_of('''
        def f(x):
            # First paragraph
            # continues here.
            #
            # Second paragraph.
            y = x + 1  # a trailing comment is code
            # Separate run
            return y

        # Above a documented def: merges into its docstring
        def g():
            """
            Docstring of g.
            """
    ''', 'f.py')
    assert keys == [
        'f.py',
        '<p>First paragraph continues here.</p>\n<p>Second paragraph. </p>\n',
        '<p>Separate run </p>\n',
        # comment "...\n" + docstring "\nDocstring..." gives a blank line: two paragraphs
        '<p>Above a documented def: merges into its docstring</p>\n<p>Docstring of g.</p>\n',
    ]


def test_duplicate_chunks_collapse():
    keys = keys_of('''
        x = 1
        # Same text
        y = 2
        # Same text
        z = 3
    ''', 'dup.py')
    assert keys == ['dup.py', '<p>Same text </p>\n']


# ## Math and code


def test_inline_and_display_math():
    c, = docs_chunks('Inline $a_1$ and $$\\sum_i x_i$$ inside, $x$ again and $x$.\n')
    assert c.key == (f'<p>Inline {PH(0)} and {PH(1)} inside, {PH(2)} again and {PH(3)}. </p>\n')
    assert c.fragments == (Fragment('math', 'a_1'), Fragment('display', '\\sum_i x_i'),
                           Fragment('math', 'x'), Fragment('math', 'x'))


def test_align_block_at_start_of_block_and_inside_paragraph():
    c, = docs_chunks('Scale it\n\n\\begin{align}\na &= b \\\\\n\nc &= d\n\\end{align}\n')
    assert c.key == f'<p>Scale it</p>\n{PH(0)}<p> </p>\n'
    assert c.fragments[0] == Fragment('align', '\\begin{align}\na &= b \\\\\n\nc &= d\n\\end{align}')
    c, = docs_chunks('text\n\\begin{align*}\nx\n\\end{align*}\nmore')
    assert c.key == f'<p>text {PH(0)} more</p>\n'
    assert c.fragments[0].kind == 'align'


def test_inline_code_and_links_with_code():
    key = chunk('Use `x[0]` with ``a ` b`` and [`Adam`](../adam.html) or '
                '[the `step` method](a b.html#step).')
    assert key == (f'<p>Use {PH(0)} with {PH(1)} and <a href="../adam.html">{PH(2)}</a> or '
                   f'<a href="a b.html#step">the {PH(3)} method</a>.</p>\n')
    (c,) = docs_chunks('Use `x[0]` with ``a ` b``')
    assert [f.source for f in c.fragments] == ['x[0]', 'a ` b']


def test_fenced_code_and_image():
    c, = docs_chunks('Run:\n\n```bash\npip install x\n\nmore\n```\n\n![A plot](plot.png)')
    assert c.key == f'<p>Run:</p>\n{PH(0)}<p>{PH(1)}</p>\n'
    assert c.fragments == (Fragment('fenced', 'pip install x\n\nmore', 'bash'),
                           Fragment('image', '![A plot](plot.png)'))


def test_unclosed_code_and_dollar_are_text():
    assert chunk('costs $5 and `open') == '<p>costs $5 and `open</p>\n'


# ## Lists, headings, emphasis, escaping


def test_lists_nested_lazy_and_not_lists():
    key = chunk('* `a` is one\n  * nested\n* two\nlazy line\n')
    assert key == (f'<ul><li>{PH(0)} is one  </li>\n<li>nested </li>\n'
                   f'<li>two lazy line </li></ul>\n')
    # `-` and `1.` are plain text; a `*` line after paragraph text continues the paragraph
    assert chunk('- one\n1. two\n* three') == '<p>- one 1. two * three</p>\n'


def test_headings():
    key = chunk('\n##Tight heading\nText under it\n### Another\n* item')
    assert key == ('<h2>Tight heading</h2>\n<p>Text under it</p>\n<h3>Another</h3>\n'
                   '<ul><li>item</li></ul>\n')


def test_sphinx_fields():
    key = chunk(':param x: the input\n  continued\n:type x: tensor\n:return: the output')
    assert key == (f'<ul><li>{PH(0)}  the input  continued :type x: tensor </li>\n'
                   f'<p><em>Returns</em>  the output</p></ul>\n')
    (c,) = docs_chunks(':param x: the input')
    assert c.fragments == (Fragment('code', 'x'),)


def test_emphasis_links_tags_and_escaping():
    key = chunk('**Bold *and* em** *with `a*b` and $c*d$* ---*aside*--- [batch, seq] '
                '<sub>2</sub> 1 < 2 & "q" \'s\' ✓')
    assert key == (f'<p><strong>Bold <em>and</em> em</strong> <em>with {PH(0)} and {PH(1)}</em> '
                   f'<small><em>aside</em></small> <a href="batch, seq">batch, seq</a> '
                   f'<sub>2</sub> 1 &lt; 2 &amp; &quot;q&quot; &#x27;s&#x27; ✓</p>\n')


def test_tables_are_plain_text():
    key = chunk('| a | b |\n|---|---|\n| `x` | 2 |')
    assert key == f'<p>| a | b | |---|---| | {PH(0)} | 2 |</p>\n'


def test_spaces_collapse_and_trailing_spaces_go():
    assert chunk('a    b   \n    c') == '<p>a b  c</p>\n'


def test_whitespace_only_docs_give_no_key():
    assert docs_chunks('   ') == ()
    assert docs_chunks('\n\n') == ()
    assert docs_chunks('') == ()
    # a bare `#` comment (or one with only spaces) is a key
    assert chunk('\n') == '<p> </p>\n'
    assert chunk('   \n') == '<p> </p>\n'


# ## The split limit


def test_split_at_limit_renumbers_each_piece():
    para = 'Word $x$ and `y` ' * 40          # one paragraph, well under the limit alone
    docs = '## Part\n\n' + '\n\n'.join([para] * 6)
    whole_len = len('<h2>Part</h2>\n') + 6 * len(docs_chunks(para)[0].key)
    assert whole_len > SPLIT_LIMIT
    chunks = docs_chunks(docs)
    assert [c.key for c in chunks][0] == '<h2>Part</h2>\n'
    assert len(chunks) == 7
    for c in chunks[1:]:
        assert c.key.startswith(f'<p>Word {PH(0)} and {PH(1)} ')
        assert len(c.fragments) == 80
        assert c.key.count('translate=no') == 80
    # duplicates collapse at module level
    m = parse_module('"""\n' + docs + '\n"""\n')
    assert module_keys(m, 'x.py') == ['x.py', '<h2>Part</h2>\n', chunks[1].key]


def test_chunk_at_limit_is_not_split():
    text = 'a' * (SPLIT_LIMIT - len('<p></p>\n'))
    (c,) = docs_chunks(text)
    assert len(c.key) == SPLIT_LIMIT
    assert len(docs_chunks(text + 'a\n\nb')) == 2


def test_display_token_split_is_bare():
    docs = 'x' * 3000 + '\n\n```\ncode\n```\n\n' + 'y' * 1500
    keys = [c.key for c in docs_chunks(docs)]
    assert keys == ['<p>' + 'x' * 3000 + '</p>\n', PH(0), '<p>' + 'y' * 1500 + '</p>\n']


# ## Other entry points


def test_section_chunks_matches_docs():
    m = parse_module(SPEC_EXAMPLE)
    with_keys = [s for s in m.sections if section_chunks(s)]
    assert [section_chunks(s)[0].key for s in with_keys] == SPEC_KEYS[2:]


def test_readme_keys():
    assert readme_keys('#  [T](u)\n\nSome *text*.\n') == [
        ' T', '<h1>[T](u)</h1>\n<p>Some <em>text</em>. </p>\n'.replace('[T](u)', '<a href="u">T</a>')]


@pytest.mark.parametrize('src', ['"""\r\n# Title\r\n\r\nText\r\n"""\r\n'])
def test_crlf_sources(src):
    from pylit.parse import decode_source
    m = parse_module(decode_source(('\ufeff' + src).encode('utf-8')))
    assert module_keys(m, 'x.py') == ['Title', '<h1>Title</h1>\n<p>Text</p>\n']


def test_display_token_inside_code_keeps_its_source():
    (c,) = docs_chunks('Write `\\begin{align}x\\end{align}` or ``a ```b``` c``')
    assert c.key == f'<p>Write {PH(0)} or {PH(1)}</p>\n'
    assert c.fragments == (Fragment('code', '\\begin{align}x\\end{align}'), Fragment('code', 'a ```b``` c'))
