"""
Translated builds end to end: `pylit --translate LANG --translate_cache DIR` on small trees.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pylit.build import BuildOptions, build
from pylit.translate.site import TranslatorFactory

MODULE = '''"""
---
title: Input Scaler
summary: Scales its input.
---

# Input Scaler

We scale by $\\alpha$ and add `bias`.
"""


# Multiply $x$ by $\\alpha$
def scale(x, alpha):
    return x * alpha
'''

HOME = '"""\n---\ntitle: Home\nsummary: Home page.\n---\n\n# Home\n\n[Scaler](scaler.html)\n"""\n'

H1 = ('<h1>Input Scaler</h1>\n<p>We scale by <span translate=no>_^_0_^_</span> and add '
      '<span translate=no>_^_1_^_</span>.</p>\n')
COMMENT = '<p>Multiply <span translate=no>_^_0_^_</span> by <span translate=no>_^_1_^_</span> </p>\n'


def run(root: Path, out: Path, lang: str | None, cache: Path | None, **kw):
    opts = BuildOptions(out_dir=out, paths=('__init__.py', 'scaler.py'), root=root, jobs=1,
                        lang=lang or 'en', translate_cache=cache, languages=('en', 'zh'),
                        site_url='https://example.org', **kw)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return build(opts, TranslatorFactory if lang else None)
    finally:
        os.chdir(cwd)


def main_part(html: str) -> str:
    """The sections of a page (the notes and code), without the page frame."""
    sections = ''.join(re.findall(r'<section class="section".*?</section>', html, re.S))
    # The section links carry an interface label in the page's language
    return re.sub(r'<a class="anchor"[^>]*>', '<a class="anchor">', sections)


def write_cache(path: Path, entries: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries, indent=1, sort_keys=True, ensure_ascii=True))


def test_first_build_fills_cache_with_identity_entries(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache = tmp_path / 'cache'
    report = run(root, tmp_path / 'zh', 'zh', cache)
    assert report.errors == []
    data = json.loads((cache / 'scaler.zh.json').read_text())
    assert data == {k: k for k in ['Input Scaler', 'Scales its input.', H1, COMMENT]}
    page = (tmp_path / 'zh/scaler.html').read_text()
    assert '<html lang="zh-Hans">' in page
    assert '<link rel="canonical" href="https://example.org/zh/scaler.html">' in page
    assert '<link rel="alternate" hreflang="en" href="https://example.org/scaler.html">' in page


def test_identity_cache_gives_english_content(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    run(root, tmp_path / 'en', None, None)
    run(root, tmp_path / 'zh', 'zh', tmp_path / 'cache')
    en = main_part((tmp_path / 'en/scaler.html').read_text())
    zh = main_part((tmp_path / 'zh/scaler.html').read_text())
    assert en == zh


def test_translation_with_reordered_placeholders_and_math(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache = tmp_path / 'cache'
    write_cache(cache / 'scaler.zh.json', {
        'Input Scaler': '输入缩放器', 'Scales its input.': '缩放输入。',
        H1: H1.replace('Input Scaler', '输入缩放器'),
        COMMENT: '<p>用 <span translate=no>_^_1_^_</span> 乘以 <span translate=no>_^_0_^_</span> </p>\n'})
    report = run(root, tmp_path / 'zh', 'zh', cache)
    assert report.warnings == [] and report.errors == []
    page = (tmp_path / 'zh/scaler.html').read_text()
    assert '<title>输入缩放器</title>' in page and 'content="缩放输入。"' in page
    assert '<h1>输入缩放器</h1>' in page
    # The reordered placeholders: alpha now comes before x, both typeset by KaTeX
    comment = re.search(r'<p>用 (.*?) 乘以 (.*?) </p>', page)
    assert comment and '<mi>α</mi>' in comment.group(1) and '<mi>x</mi>' in comment.group(2)
    assert '100%' in page


def test_bad_placeholders_and_injection(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache = tmp_path / 'cache'
    write_cache(cache / 'scaler.zh.json', {
        H1: '<h1>缩放</h1><p>只有 <span translate=no>_^_0_^_</span></p>',
        COMMENT: '<p onclick="steal()">乘 <span translate=no>_^_0_^_</span> <span translate=no>_^_1_^_</span>'
                 '<script>alert(1)</script><a href="javascript:alert(2)">x</a><iframe src="x"></iframe>'
                 '<style>p{}</style></p>\n'})
    report = run(root, tmp_path / 'zh', 'zh', cache)
    messages = [str(w) for w in report.warnings]
    assert any('missing placeholder _^_1_^_' in m and 'scaler.zh.json' in m and '<h1>Input Scaler' in m
               for m in messages), messages
    page = (tmp_path / 'zh/scaler.html').read_text()
    main = main_part(page)
    # The invalid chunk is shown in English; the other one is used, sanitised
    assert 'Input Scaler</h1>' in main and '缩放</h1>' not in main
    assert '乘' in main
    for bad in ('<script', 'onclick', 'javascript:', '<iframe', '<style'):
        assert bad not in main


def test_malformed_cache_is_an_error_and_left_untouched(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache = tmp_path / 'cache'
    cache.mkdir()
    broken = '{\n "Input Scaler": "x",\n "oops"\n}'
    (cache / 'scaler.zh.json').write_text(broken)
    report = run(root, tmp_path / 'zh', 'zh', cache)
    assert len(report.errors) == 1
    error = str(report.errors[0])
    assert 'scaler.zh.json:4:1: error: not valid JSON' in error and 'English' in error
    assert (cache / 'scaler.zh.json').read_text() == broken
    assert report.exit_status(strict=False) == 1
    # The page is still built, in English
    assert 'We scale by' in (tmp_path / 'zh/scaler.html').read_text()


def test_rebuild_without_changes_leaves_cache_and_pages(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache = tmp_path / 'cache'
    run(root, tmp_path / 'zh', 'zh', cache)
    before = (cache / 'scaler.zh.json').read_bytes()
    again = run(root, tmp_path / 'zh', 'zh', cache)
    assert again.built == []
    assert (cache / 'scaler.zh.json').read_bytes() == before


def test_editing_the_cache_rebuilds_the_page(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache = tmp_path / 'cache'
    run(root, tmp_path / 'zh', 'zh', cache)
    data = json.loads((cache / 'scaler.zh.json').read_text())
    data['Input Scaler'] = '输入缩放器'
    write_cache(cache / 'scaler.zh.json', data)
    again = run(root, tmp_path / 'zh', 'zh', cache)
    assert 'scaler.py' in again.built
    assert '<title>输入缩放器</title>' in (tmp_path / 'zh/scaler.html').read_text()


def test_changed_english_moves_translation_to_sidecar(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache = tmp_path / 'cache'
    write_cache(cache / 'scaler.zh.json', {COMMENT: '<p>乘 <span translate=no>_^_0_^_</span> <span translate=no>_^_1_^_</span> </p>\n'})
    (root / 'scaler.py').write_text(MODULE.replace('# Multiply $x$', '# Multiply the input $x$'))
    run(root, tmp_path / 'zh', 'zh', cache)
    main = json.loads((cache / 'scaler.zh.json').read_text())
    side = json.loads((cache / 'scaler.zh.obsolete.json').read_text())
    assert COMMENT not in main and COMMENT in side


def test_breadcrumbs_show_translated_titles(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'pkg/__init__.py': '"""\n---\ntitle: Package\nsummary: P.\n---\n"""\n',
                       'pkg/scaler.py': MODULE})
    cache = tmp_path / 'cache'
    write_cache(cache / 'pkg/__init__.zh.json', {'Package': '软件包', 'P.': '包。'})
    write_cache(cache / '__init__.zh.json', {'Home': '首页'})
    opts = BuildOptions(out_dir=tmp_path / 'zh', paths=('__init__.py', 'pkg'), root=root, jobs=1,
                        lang='zh', translate_cache=cache)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        build(opts, TranslatorFactory)
    finally:
        os.chdir(cwd)
    page = (tmp_path / 'zh/pkg/scaler.html').read_text()
    assert '>首页</a>' in page and '>软件包</a>' in page


def test_chunks_without_words_need_no_translation():
    from pylit.translate.apply import needs_translation
    from pylit.translate.status import count_translations
    ph = '<span translate=no>_^_0_^_</span>'
    assert not needs_translation(f'<p>{ph} </p>\n')
    assert not needs_translation(f'<p>5. {ph} </p>\n')
    assert needs_translation(f'<p>Store {ph} </p>\n')
    keys = [f'<p>{ph} </p>\n', '<p>Words</p>\n']
    assert count_translations(keys, {}) == (1, 1, 0)


def test_translated_formula_spanning_lines_is_rendered(write_tree, tmp_path):
    src = '"""\n# T\n\nWe get\n\n$$a_1 +\n  b_2$$\n\nand $x +\n  y$ too.\n"""\n'
    root = write_tree({'__init__.py': HOME, 'scaler.py': src})
    cache = tmp_path / 'cache'
    run(root, tmp_path / 'zh', 'zh', cache)
    data = json.loads((cache / 'scaler.zh.json').read_text())
    data = {k: (k.replace('We get', '我们得到').replace('too', '也是') if k.startswith('<h1>') else v)
            for k, v in data.items()}
    write_cache(cache / 'scaler.zh.json', data)
    report = run(root, tmp_path / 'zh', 'zh', cache)
    assert report.warnings == [] and report.errors == []
    page = (tmp_path / 'zh/scaler.html').read_text()
    assert '我们得到' in page and 'math-error' not in page
