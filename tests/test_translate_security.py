"""
A translation can never put script on a page (issue 15): placeholders are checked on parsed
HTML, only whole placeholder elements in text are filled, and filled HTML is sanitised again.
The same check guards the build, `translate status` and `import-po`.
"""

import json
from html.parser import HTMLParser

import polib
import pytest

from pylit.parse import parse_module
from pylit.translate.apply import fill, translate_section, validate
from pylit.translate.cache import TranslationCache, dumps
from pylit.translate.cli import main
from pylit.translate.keys import section_chunks
from pylit.translate.site import render_fragment


def PH(n):
    return f'<span translate=no>_^_{n}_^_</span>'


SOURCE = '''"""
---
title: Scale
---
"""

# Scale by $\\alpha$
x = 1
'''
KEY = f'<p>Scale by {PH(0)} </p>\n'

# The attack of the issue: the placeholder sits inside an attribute value that holds `<`
ATTACKS = [
    f'<p><img src="x" alt="a<b {PH(0)}"></p>\n',
    f'<p><img src=x alt="<{PH(0)} onerror=alert(1) x="></p>\n',
    f'<p><img src=x alt="a<b" title="{PH(0)} onerror=alert(1) y"> 缩放</p>\n',
    f'<p>缩放 <a href="{PH(0)}">x</a></p>\n',
    f'<p>缩放 <!-- {PH(0)} --></p>\n',
    '<p>缩放 _^_0_^_</p>\n',                                    # a bare mark
    f'<p>缩放 {PH(0)} _^_0_^_</p>\n',                            # an extra bare mark
    f'<p>缩放 <span translate=no>_^_0_^_<img src=x onerror=alert(1)></span></p>\n',
    f'<p>缩放 <script>{PH(0)}</script></p>\n',
    f'<p>缩放 <img alt="<span translate=no>_^_0_^_</span>"',    # unclosed tag
]


class Tags(HTMLParser):
    """Every tag and attribute of an HTML text."""

    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_safe(html, fragment_marker='class="katex'):
    for tag, attrs in Tags(html).tags:
        assert tag not in ('script', 'iframe', 'object', 'embed', 'style'), html
        for name, value in attrs.items():
            assert not name.startswith('on'), f'event handler {name} in {html}'
            assert '<' not in (value or '') and 'katex"' not in (value or ''), \
                f'markup inside the attribute {name}: {html}'


def fragment_html(fragment):
    # Shaped like KaTeX's output: quotes and tags
    return '<span class="katex"><span class="mord" style="height:1em">α</span></span>'


@pytest.mark.parametrize('value', ATTACKS)
def test_placeholder_outside_text_is_invalid_and_never_filled(value):
    assert validate(KEY, value) is not None
    html, reason = fill(KEY, value, ('alpha',), fragment_html)
    assert html is None and reason


@pytest.mark.parametrize('value', ATTACKS)
def test_attack_never_reaches_the_page(value):
    (section,) = [s for s in parse_module(SOURCE).sections if section_chunks(s)][-1:]
    warnings = []
    out = translate_section(section, {KEY: value}, fragment_html, warnings=warnings)
    # The chunk falls back to English, with a warning; nothing of the attack is on the page
    assert out is None
    assert warnings and 'not used' in str(warnings[0])


def test_real_fragments_in_a_valid_translation_are_text_content():
    (section,) = [s for s in parse_module(SOURCE).sections if section_chunks(s)][-1:]
    (chunk,) = section_chunks(section)
    out = translate_section(section, {KEY: f'<p>按 {PH(0)} 缩放</p>\n'},
                            lambda f: render_fragment(f, lambda tex, d: fragment_html(None)))
    assert out == '<p>按 ' + fragment_html(None) + ' 缩放</p>\n'
    assert_safe(out)


@pytest.mark.parametrize('evil', [
    '<img src="x" onerror="alert(1)">',
    '<script>alert(2)</script>',
    '<a href="javascript:alert(3)">x</a>',
    '<a href=" java\tscript:alert(4)">x</a>',
    '<svg><animate attributeName="href" to="javascript:alert(5)"/></svg>',
    '<span style="background:url(//evil)">x</span>',
])
def test_filled_html_is_checked_again(evil):
    # Even a fragment that carried script (a bug of ours) never reaches the page
    html, reason = fill(KEY, f'<p>按 {PH(0)} 缩放</p>\n', ('alpha',), lambda f: evil)
    assert html is None and reason.startswith('after filling, the HTML holds')
    (section,) = [s for s in parse_module(SOURCE).sections if section_chunks(s)][-1:]
    out = translate_section(section, {KEY: f'<p>按 {PH(0)} 缩放</p>\n'}, lambda f: evil)
    # the translation and the English both fail the check: the chunk's words, as text
    assert out is None or ('alert' not in out and '<script' not in out)


def test_katex_output_passes_the_check_unchanged():
    katex = ('<span class="katex"><span class="katex-mathml"><math xmlns="http://www.w3.org/1998/Math/MathML">'
             '<semantics><mrow><mo><mi>A</mi><mi>t</mi></mo><msqrt><mi>x</mi></msqrt></mrow>'
             '<annotation encoding="application/x-tex">\\sqrt{x}</annotation></semantics></math></span>'
             '<span class="katex-html" aria-hidden="true"><span class="base"><span class="strut" '
             'style="height:1.04em;vertical-align:-0.2397em;"></span><svg xmlns="http://www.w3.org/2000/svg" '
             'width="400em" height="1.08em" viewBox="0 0 400000 1080" preserveAspectRatio="xMinYMin slice">'
             '<path d="M95,702 c-2.7,0,-7.17,-2.7,-13.5,-8z"/></svg></span></span></span>')
    html, reason = fill(KEY, f'<p>按 {PH(0)} 缩放</p>\n', ('alpha',), lambda f: katex)
    assert reason is None and html == f'<p>按 {katex} 缩放</p>\n'


def test_quoted_and_spaced_placeholder_elements_are_whole_elements():
    value = f'<p>按 <span translate="no">_^_0_^_</span > 缩放</p>\n'
    assert validate(KEY, value) is None
    html, _ = fill(KEY, value, ('alpha',), fragment_html)
    assert html == '<p>按 ' + fragment_html(None) + ' 缩放</p>\n'


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'pkg').mkdir()
    (tmp_path / 'pkg' / 'scale.py').write_text(SOURCE)
    return tmp_path


def test_status_counts_the_attack_invalid(site, capsys):
    assert main(['sync', '--src', 'pkg', '--cache', 'tc', '--lang', 'zh']) == 0
    c = TranslationCache(site / 'tc', 'scale', 'zh')
    data = c.load()
    data[KEY] = ATTACKS[0]
    c.path.write_text(dumps(data), encoding='utf-8')
    capsys.readouterr()
    assert main(['status', '--src', 'pkg', '--cache', 'tc', '--lang', 'zh', '--json']) == 1
    page = json.loads(capsys.readouterr().out)['pages'][0]
    assert page['invalid'] == 1 and 'attribute' in page['invalid_keys'][0]['reason']


def test_import_po_refuses_the_attack(site, capsys):
    assert main(['sync', '--src', 'pkg', '--cache', 'tc', '--lang', 'zh']) == 0
    po = polib.POFile()
    po.metadata = {'Language': 'zh', 'Content-Type': 'text/plain; charset=UTF-8'}
    po.append(polib.POEntry(msgctxt='scale', msgid=KEY, msgstr=ATTACKS[0]))
    po.save(str(site / 'zh.po'))
    main(['import-po', '--src', 'pkg', '--cache', 'tc', 'zh.po'])
    err = capsys.readouterr().err
    assert 'attribute' in err
    assert TranslationCache(site / 'tc', 'scale', 'zh').load()[KEY] == KEY
