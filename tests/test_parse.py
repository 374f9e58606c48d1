"""
The segmentation rules of §3 of the translation-cache spec, which the pages follow too.
"""

import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from pylit.parse import ParseError, decode_source, parse_module


def sections(src: str):
    return [(s.docs, [t for _, t in s.code]) for s in parse_module(textwrap.dedent(src)).sections]


def test_comment_run_becomes_notes_of_following_code():
    assert sections('''\
        # Add one
        x = 1
        y = 2
        # Then two
        z = 3
        ''') == [('Add one\n', ['x = 1', 'y = 2']), ('Then two\n', ['z = 3'])]


def test_bare_hash_is_paragraph_break_and_blank_line_ends_run():
    assert sections('''\
        # First
        #
        # Second

        # Third
        x = 1
        ''') == [('First\n\nSecond\n', ['']), ('Third\n', ['x = 1'])]


def test_comment_after_code_stays_in_code():
    assert sections('x = 1  # not notes\ny = 2\n') == [('', ['x = 1  # not notes', 'y = 2'])]


def test_hash_and_quotes_inside_strings_are_code():
    src = '''\
        s = """
        # not a comment
        """
        t = "# nor this"
        u = \'\'\'"""\'\'\'
        '''
    assert sections(src) == [('', ['s = """', '# not a comment', '"""', 't = "# nor this"', 'u = \'\'\'"""\'\'\''])]


def test_docstring_of_function_takes_its_header_and_is_removed_from_code():
    assert sections('''\
        x = 1

        def f(a,
              b):
            """
            Adds.
            """
            return a + b
        ''') == [('', ['x = 1', '']), ('\nAdds.', ['def f(a,', '      b):']), ('', ['    return a + b'])]


def test_decorators_join_the_header():
    assert sections('''\
        @torch.no_grad()
        @other
        def f():
            """Do it"""
            pass
        ''') == [('Do it\n', ['@torch.no_grad()', '@other', 'def f():']), ('', ['    pass'])]


def test_comment_directly_above_documented_header_merges():
    assert sections('''\
        # ### Apply
        async def apply(x):
            """
            Returns x.
            """
        ''') == [('### Apply\n\nReturns x.', ['async def apply(x):'])]


def test_comment_separated_by_blank_line_does_not_merge():
    got = sections('''\
        # A comment

        def f():
            """Doc"""
        ''')
    assert got == [('A comment\n', ['']), ('Doc\n', ['def f():'])]


def test_nested_functions_and_methods():
    got = sections('''\
        class A:
            """Class A"""
            def m(self):
                """Method m"""
                def inner():
                    """Inner"""
                    return 1
                return inner
        ''')
    assert got == [('Class A\n', ['class A:']), ('Method m\n', ['    def m(self):']),
                   ('Inner\n', ['        def inner():']), ('', ['            return 1', '        return inner'])]


def test_string_that_is_part_of_an_expression_is_code():
    assert sections('x = """\ndoc\n"""\nf("""a""")\n') == [('', ['x = """', 'doc', '"""', 'f("""a""")'])]


def test_docstring_indentation_removed_and_prefixes():
    got = sections('''\
        def f():
            r"""
            Line one
              indented
            """
        ''')
    assert got == [('\nLine one\n  indented', ['def f():'])]


def test_text_after_closing_quotes_is_ignored_and_single_quotes_docstring():
    assert sections("def f():\n    '''Doc'''  # trailing\n") == [('Doc\n', ['def f():'])]


def test_front_matter_is_removed_and_parsed():
    m = parse_module(textwrap.dedent('''\
        """
        ---
        title: Scaler
        summary: >
          Two lines
          joined.
        ---

        # Heading
        """
        '''))
    assert m.has_front_matter and m.title == 'Scaler' and m.summary == 'Two lines joined.'
    assert m.sections[0].docs == '# Heading'
    # Line numbers still point into the file
    assert m.sections[0].docs_lines[0] == 9


def test_h1_title_without_front_matter():
    m = parse_module('"""\n# The [Title](x.html) here\n"""\n')
    assert not m.has_front_matter and m.h1_title == 'The Title here'


def test_empty_file():
    m = parse_module('')
    assert m.empty_file and m.sections == ()


def test_code_keeps_line_numbers():
    m = parse_module('"""\nDoc\n"""\n\n# Note\nx = 1\n')
    assert m.sections[-1].code == ((6, 'x = 1'),)
    assert m.sections[-1].docs_lines == (5,)


def test_syntax_error_reports_line():
    with pytest.raises(ParseError) as e:
        parse_module('x = 1\ndef f(:\n    pass\n')
    assert e.value.lineno == 2


def test_unterminated_string_reports_error():
    with pytest.raises(ParseError):
        parse_module('x = """\nnever closed\n')


def test_decode_source_bom_crlf_and_bad_utf8():
    assert decode_source(b'\xef\xbb\xbfx = 1\r\ny = 2\r\n') == 'x = 1\ny = 2\n'
    with pytest.raises(ParseError) as e:
        decode_source(b'x = 1\n# \xff\n')
    assert e.value.lineno == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([
    '# a note', '#', 'x = 1', '', 'def f():', '    """Doc"""', '    y = "# str"',
    '    # inner note', '    return 2', '@dec', 'class C:', '    """\n    Multi\n    """'
]), max_size=25))
def test_code_lines_are_kept_exactly_once_in_order(lines):
    """Property: every line that is not notes appears in the code column exactly once, in order."""
    src = '\n'.join(lines) + '\n'
    try:
        m = parse_module(src)
    except ParseError:
        return
    code = [n for s in m.sections for n, _ in s.code]
    assert code == sorted(code) and len(code) == len(set(code))
    src_lines = src.split('\n')
    for s in m.sections:
        for n, text in s.code:
            assert src_lines[n - 1] == text
