"""What a translated page shows: validation, placeholders, sanitising."""

import html

import pytest

from pylit.parse import parse_module
from pylit.translate.apply import (TranslationWarning, sanitize, translate_section, translate_text,
                                   validate)
from pylit.translate.keys import section_chunks

SOURCE = r'''"""
---
title: Momentum
summary: Gradient descent with a running average of the gradients.
---

# Momentum

The velocity $v_t$ adds up the gradients `grad` with decay $\mu$.
"""


def step(v, grad, mu):
    # Update the velocity $v_t = \mu v_{t-1} + g_t$
    return mu * v + grad
'''


def PH(n):
    return f'<span translate=no>_^_{n}_^_</span>'


def render(fragment):
    # Stands in for KaTeX / Pygments: HTML that a sanitizer would strip (a style attribute)
    return f'<span class="{fragment.kind}" style="color:red">{html.escape(fragment.source)}</span>'


@pytest.fixture
def module():
    return parse_module(SOURCE)


def doc_sections(module):
    return [s for s in module.sections if section_chunks(s)]


def test_untranslated_sections_show_english(module):
    for s in doc_sections(module):
        ident = {c.key: c.key for c in section_chunks(s)}
        assert translate_section(s, ident, render) is None
        assert translate_section(s, {}, render) is None


def test_translation_is_filled_with_rendered_fragments_in_any_order(module):
    s = doc_sections(module)[0]
    (c,) = section_chunks(s)
    assert c.key == (f'<h1>Momentum</h1>\n<p>The velocity {PH(0)} adds up the gradients {PH(1)} '
                     f'with decay {PH(2)}.</p>\n')
    value = f'<h1>动量</h1>\n<p>{PH(2)} 衰减，{PH(1)} 累加到 {PH(0)}。</p>\n'
    out = translate_section(s, {c.key: value}, render)
    assert out == ('<h1>动量</h1>\n<p><span class="math" style="color:red">\\mu</span> 衰减，'
                   '<span class="code" style="color:red">grad</span> 累加到 '
                   '<span class="math" style="color:red">v_t</span>。</p>\n')


def test_translator_quoted_placeholder_attribute_still_works(module):
    s = doc_sections(module)[1]
    (c,) = section_chunks(s)
    value = '<p>更新速度 <span translate="no">_^_0_^_</span></p>\n'
    out = translate_section(s, {c.key: value}, render)
    assert out == '<p>更新速度 <span class="math" style="color:red">v_t = \\mu v_{t-1} + g_t</span></p>\n'


@pytest.mark.parametrize('value, reason', [
    (f'<p>少了 {PH(0)} {PH(1)}</p>', 'missing placeholder _^_2_^_'),
    (f'<p>多了 {PH(0)} {PH(1)} {PH(2)} {PH(3)}</p>', 'unknown or repeated placeholder _^_3_^_'),
    (f'<p>重复 {PH(0)} {PH(0)} {PH(1)} {PH(2)}</p>', 'unknown or repeated placeholder _^_0_^_'),
    (f'<p>改号 {PH(0)} {PH(1)} {PH(5)}</p>', 'missing placeholder _^_2_^_'),
    (f'<p><a href="_^_0_^_">x</a> {PH(1)} {PH(2)}</p>', 'inside a tag'),
    ('   ', 'empty'),
])
def test_invalid_translation_falls_back_with_warning(module, value, reason):
    s = doc_sections(module)[0]
    (c,) = section_chunks(s)
    warnings = []
    out = translate_section(s, {c.key: value}, render, cache_file='tc/momentum.zh.json',
                            warnings=warnings)
    assert out is None
    assert len(warnings) == 1 and isinstance(warnings[0], TranslationWarning)
    msg = str(warnings[0])
    assert 'tc/momentum.zh.json' in msg
    assert repr(c.key[:60] + '…') in msg
    assert reason in msg
    assert validate(c.key, value) is not None


def test_validate_accepts_reordering():
    key = f'<p>{PH(0)} and {PH(1)}</p>'
    assert validate(key, f'<p>{PH(1)} 和 {PH(0)}</p>') is None
    assert validate('Title', '标题') is None


@pytest.mark.parametrize('attack', [
    '<script>alert(1)</script>',
    '<style>body{display:none}</style>',
    '<img src="x.png" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<iframe src="https://example.com"></iframe>',
    '<p onclick="alert(1)">x</p>',
    '<svg onload="alert(1)"></svg>',
    '<object data="x"></object>',
    '<!-- <script>alert(1)</script> -->',
])
def test_script_injection_is_removed(module, attack):
    s = doc_sections(module)[1]
    (c,) = section_chunks(s)
    value = f'<p>更新 {PH(0)} {attack}</p>\n'
    out = translate_section(s, {c.key: value}, render)
    assert out is not None and '更新' in out
    low = out.lower()
    for bad in ('<script', '<style', 'onerror', 'onclick', 'onload', 'javascript:', '<iframe',
                '<svg', '<object', 'alert(1)</script'):
        assert bad not in low
    # the rendered fragment is inserted after sanitising, so its markup is intact
    assert 'style="color:red"' in out


def test_ordinary_markup_survives_sanitizing():
    value = ('<h2>标题</h2><p><a href="../adam.html" title="t">链接</a> <em>e</em> <strong>s</strong> '
             '<code>c</code> <small>m</small><br><img src="p.png" alt="a"></p>'
             '<ul><li>一</li></ul><table><tr><td>1</td></tr></table>')
    out = sanitize(value)
    for tag in ('<h2>', '<a href="../adam.html" title="t">', '<em>', '<strong>', '<code>',
                '<small>', '<br>', '<img src="p.png" alt="a">', '<ul><li>', '<table>', '<td>'):
        assert tag in out


def test_split_section_mixes_translated_and_english_chunks():
    para = 'Text with $x$ here. ' * 120
    src = f'"""\n## Long\n\n{para}\n\n{para}\n"""\n'
    (s,) = [s for s in parse_module(src).sections if section_chunks(s)]
    chunks = section_chunks(s)
    # heading and two equal paragraphs: three chunks (one key for both paragraphs)
    assert len(chunks) == 3 and chunks[1].key == chunks[2].key
    out = translate_section(s, {chunks[0].key: '<h2>长</h2>\n'}, render)
    assert out.startswith('<h2>长</h2>\n<p>Text with <span class="math" style="color:red">x</span> here.')
    assert out.count('<p>Text with') == 2


def test_translate_text_for_titles():
    tr = {'Momentum': '动量', 'Bad': '<span translate=no>_^_0_^_</span>', 'Same': 'Same'}
    warnings = []
    assert translate_text('Momentum', tr) == '动量'
    assert translate_text('Same', tr) is None
    assert translate_text('Missing', tr) is None
    assert translate_text(None, tr) is None
    assert translate_text('Bad', tr, cache_file='c.json', warnings=warnings) is None
    assert 'c.json' in str(warnings[0])
