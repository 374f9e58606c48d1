"""
The frame of translated pages (issue 15): a chunk whose English changed shows its old
translation marked as outdated; translated pages link the translation-status page; `<html lang>`
and hreflang come from the languages table; the preview's default languages come from the
cache folder.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pylit import serve
from pylit.build import BuildOptions, build
from pylit.translate.site import TranslatorFactory

from test_translate_build import COMMENT, H1, HOME, MODULE, main_part, write_cache

PH = '<span translate=no>_^_{}_^_</span>'.format
OLD_ZH = f'<p>用 {PH(1)} 乘以 {PH(0)} </p>\n'
CHANGED = MODULE.replace('# Multiply $x$', '# Multiply the input $x$')


def run(root: Path, out: Path, lang: str, cache: Path, paths=('__init__.py', 'scaler.py'), **kw):
    opts = BuildOptions(out_dir=out, paths=paths, root=root, jobs=1, lang=lang,
                        translate_cache=cache, languages=('en', 'zh', 'ja'),
                        site_url='https://example.org', **kw)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return build(opts, TranslatorFactory if lang != 'en' else None)
    finally:
        os.chdir(cwd)


def outdated_boxes(html: str) -> list[str]:
    return re.findall(r'<div class="outdated" data-outdated>.*?</details></div>', html, re.S)


# ## Stale translations are shown, marked as outdated

def test_changed_english_shows_the_old_translation_marked_outdated(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': CHANGED})
    cache = tmp_path / 'cache'
    write_cache(cache / 'scaler.zh.json', {COMMENT: OLD_ZH})
    report = run(root, tmp_path / 'zh', 'zh', cache)
    assert report.errors == []
    # The build moved the old translation to the sidecar, where the suggestion comes from
    assert COMMENT in json.loads((cache / 'scaler.zh.obsolete.json').read_text())
    main = main_part((tmp_path / 'zh/scaler.html').read_text())
    boxes = outdated_boxes(main)
    assert len(boxes) == 1, main
    box = boxes[0]
    assert '此翻译已过时' in box and '显示当前的英文原文' in box
    # The old translation, with its (reordered) placeholders filled by KaTeX
    old = re.search(r'<p>用 (.*?) 乘以 (.*?) </p>', box, re.S)
    assert old and '<mi>α</mi>' in old.group(1) and '<mi>x</mi>' in old.group(2)
    # The current English behind the toggle, typeset too
    english = re.search(r'<details class="outdated-english"[^>]*><summary>[^<]*</summary><div lang="en">(.*)</div></details>', box, re.S)
    assert english and 'Multiply the input' in english.group(1) and '<mi>α</mi>' in english.group(1)
    # Only once: the English is not also shown outside the box
    assert main.count('Multiply the input') == 1


def test_the_preview_shows_outdated_translations_without_writing(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': CHANGED})
    cache = tmp_path / 'cache'
    write_cache(cache / 'scaler.zh.json', {COMMENT: OLD_ZH})
    before = (cache / 'scaler.zh.json').read_bytes()
    run(root, tmp_path / 'zh', 'zh', cache, write_caches=False)
    assert (cache / 'scaler.zh.json').read_bytes() == before
    assert not (cache / 'scaler.zh.obsolete.json').exists()
    assert len(outdated_boxes((tmp_path / 'zh/scaler.html').read_text())) == 1


def test_outdated_translation_whose_placeholders_no_longer_match_shows_english(write_tree, tmp_path):
    # The new English has a third formula: the old translation cannot stand for it
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE.replace('# Multiply $x$ by $\\alpha$',
                                                                       '# Multiply $x$ by $\\alpha$ and $\\beta$')})
    cache = tmp_path / 'cache'
    write_cache(cache / 'scaler.zh.obsolete.json', {COMMENT: OLD_ZH})
    run(root, tmp_path / 'zh', 'zh', cache)
    main = main_part((tmp_path / 'zh/scaler.html').read_text())
    assert outdated_boxes(main) == [] and '乘以' not in main
    assert 'Multiply' in main and '<mi>β</mi>' in main


def test_outdated_translations_are_checked_and_sanitised_like_current_ones(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': CHANGED.replace('We scale by', 'We multiply by')})
    cache = tmp_path / 'cache'
    write_cache(cache / 'scaler.zh.obsolete.json', {
        # a placeholder inside an attribute: refused, the chunk shows English
        H1: f'<h1>输入缩放器</h1><p>我们 <img alt="{PH(0)}" src=x> 和 {PH(1)}。</p>',
        # script-capable markup: sanitised away, the words stay
        COMMENT: f'<p onclick="steal()">用 {PH(1)} 乘以 {PH(0)}<script>alert(1)</script>'
                 f'<a href="javascript:alert(2)">x</a></p>\n'})
    run(root, tmp_path / 'zh', 'zh', cache)
    main = main_part((tmp_path / 'zh/scaler.html').read_text())
    boxes = outdated_boxes(main)
    assert len(boxes) == 1 and '乘以' in boxes[0]
    assert '我们' not in main and 'We multiply by' in main
    for bad in ('<script', 'onclick', 'javascript:', '<img'):
        assert bad not in main


def test_every_language_has_the_outdated_note():
    messages = Path(__file__).resolve().parent.parent / 'pylit' / 'messages'
    en = json.loads((messages / 'en.json').read_text(encoding='utf-8'))
    for lang in ('zh', 'ja', 'si'):
        m = json.loads((messages / f'{lang}.json').read_text(encoding='utf-8'))
        for key in ('outdated_note', 'outdated_english'):
            assert m[key] and m[key] != en[key], (lang, key)


# ## The page frame

def test_translated_pages_link_the_translation_status_page(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE, 'pkg/__init__.py': '"""\n# Package\n"""\n',
                       'pkg/deep.py': MODULE})
    cache = tmp_path / 'cache'
    run(root, tmp_path / 'zh', 'zh', cache, paths=('__init__.py', 'scaler.py', 'pkg'))
    top = (tmp_path / 'zh/scaler.html').read_text()
    deep = (tmp_path / 'zh/pkg/deep.html').read_text()
    assert '<a class="status-link" href="translation-status.html">翻译进度</a>' in top
    assert '<a class="status-link" href="../translation-status.html">翻译进度</a>' in deep
    run(root, tmp_path / 'ja', 'ja', cache)
    assert '<a class="status-link" href="translation-status.html">翻訳の状況</a>' in (tmp_path / 'ja/scaler.html').read_text()
    # English pages have no translation banner
    run(root, tmp_path / 'en', 'en', None)
    assert 'status-link' not in (tmp_path / 'en/scaler.html').read_text()


def test_html_lang_and_hreflang_come_from_the_languages_table(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache = tmp_path / 'cache'
    run(root, tmp_path / 'zh', 'zh', cache)
    run(root, tmp_path / 'en', 'en', None)
    zh = (tmp_path / 'zh/scaler.html').read_text()
    en = (tmp_path / 'en/scaler.html').read_text()
    assert '<html lang="zh-Hans">' in zh and '<html lang="en">' in en
    for page in (zh, en):
        assert '<link rel="alternate" hreflang="zh-Hans" href="https://example.org/zh/scaler.html">' in page
        assert '<link rel="alternate" hreflang="en" href="https://example.org/scaler.html">' in page
        assert 'hreflang="zh"' not in page and 'lang="zh"' not in page
    # the language switcher of the English page
    assert re.search(r'<a class="lang" lang="zh-Hans" hreflang="zh-Hans" href="[^"]*zh/scaler.html">中文</a>', en)
    assert '<span class="lang current" lang="zh-Hans">中文</span>' in zh


def test_preview_default_languages_come_from_the_cache_folder(tmp_path):
    cache = tmp_path / 'cache'
    (cache / 'pkg').mkdir(parents=True)
    (cache / 'pkg' / 'a.si.json').write_text('{}')
    (cache / 'b.ja.json').write_text('{}')
    (cache / 'b.ja.obsolete.json').write_text('{}')
    (cache / 'c.xx.json').write_text('{}')  # not a language of the table
    flags = serve.default_pylit_flags(8000, cache)
    assert serve.languages_of(flags) == ['en', 'ja', 'si']
    assert flags[-2:] == ['--site_url', 'http://127.0.0.1:8000']
    assert serve.languages_of(serve.default_pylit_flags(8000, tmp_path / 'none')) == ['en']
    # The shipped caches: every language of the site
    shipped = Path(__file__).resolve().parent.parent / 'translate_cache'
    assert serve.languages_of(serve.default_pylit_flags(8000, shipped)) == ['en', 'zh', 'ja', 'si']
