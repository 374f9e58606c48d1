"""The translation-status page of a language (issue 15)."""

import json

from pylit.translate.cache import TranslationCache, dumps
from pylit.translate.cli import main
from pylit.translate.status_page import main as status_page_main

PAGE = '''"""
---
title: Warmup
summary: Raise the learning rate <slowly>.
---

# Warmup

The rate grows linearly for `warmup` steps.
"""

# Linear ramp $x$
y = 1
'''


def test_status_page_lists_pages_shares_untranslated_and_outdated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'pkg').mkdir()
    (tmp_path / 'pkg' / 'warmup.py').write_text(PAGE)
    assert main(['sync', '--src', 'pkg', '--cache', 'tc', '--lang', 'zh']) == 0
    c = TranslationCache(tmp_path / 'tc', 'warmup', 'zh')
    data = c.load()
    h1 = next(k for k in data if k.startswith('<h1>'))
    data['Warmup'] = '预热'
    data[h1] = h1.replace('The rate grows linearly for', '学习率线性增长')
    c.path.write_text(dumps(data), encoding='utf-8')
    (tmp_path / 'pkg' / 'warmup.py').write_text(PAGE.replace('grows linearly', 'grows slowly'))
    assert main(['sync', '--src', 'pkg', '--cache', 'tc', '--lang', 'zh']) == 0
    (tmp_path / 'docs' / 'zh').mkdir(parents=True)
    (tmp_path / 'docs' / 'zh' / 'warmup.html').write_text('<title>预热</title>')
    assert status_page_main(['--site', 'docs', '--src', 'pkg', '--translate_cache', 'tc', '--languages', 'zh_CN',
                             '--cache_url', 'https://example.org/tc']) == 0
    html = (tmp_path / 'docs' / 'zh' / 'translation-status.html').read_text(encoding='utf-8')
    assert '<html lang="zh-Hans">' in html and '翻译进度：中文' in html
    assert '<a href="warmup.html">预热</a>' in html
    assert '<a href="https://example.org/tc/warmup.zh.json"><code>tc/warmup.zh.json</code></a>' in html
    # 4 keys: the title translated; the h1 outdated; the summary and the comment untranslated
    assert '<td class="num">25% ' in html
    assert '已过时的翻译' in html and '学习率线性增长' in html          # the old translation, beside the new English
    assert 'The rate grows slowly for' in html
    assert 'Raise the learning rate &lt;slowly&gt;.' in html           # English shown as text, escaped
