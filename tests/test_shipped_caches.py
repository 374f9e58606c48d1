"""
Every translation cache file we ship: exactly the spec's serialisation, exactly the keys the
current source produces, and every translation usable (its placeholders are those of its key).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO
from pylit.parse import decode_source, parse_module
from pylit.translate.apply import validate
from pylit.languages import site_languages
from pylit.translate.cache import dumps
from pylit.translate.keys import module_keys

CACHE = REPO / 'translate_cache'
SOURCES = REPO / 'labml_nn'
FILES = sorted(p for p in CACHE.rglob('*.json')
               if not p.name.endswith(('.obsolete.json', '.fuzzy.json', '.comments.json')))
# Every language of the table that has caches (zh, ja, si): not a fixed list
LANGS = [l.code for l in site_languages(CACHE) if l.code != 'en']


def source_of(cache_file: Path) -> Path:
    """`translate_cache/optimizers/sophia.zh.json` -> `labml_nn/optimizers/sophia.py`"""
    rel = cache_file.relative_to(CACHE)
    stem = rel.name.rsplit('.', 2)[0]
    return SOURCES / rel.parent / f'{stem}.py'


def test_the_site_has_its_languages():
    assert {'zh', 'ja', 'si'} <= set(LANGS)


def test_there_are_caches_for_every_module_and_language():
    for lang in LANGS:
        for src in SOURCES.rglob('*.py'):
            rel = src.relative_to(SOURCES).with_suffix('')
            assert (CACHE / f'{rel}.{lang}.json').exists(), f'no {lang} cache for {src}'


@pytest.mark.parametrize('path', FILES, ids=lambda p: str(p.relative_to(CACHE)))
def test_cache_file(path):
    text = path.read_text(encoding='utf-8')
    data = json.loads(text)
    # The exact serialisation of the spec (UTF-8), so a rebuild leaves the file byte-identical
    assert text == dumps(data), f'{path} is not in the form pylit writes; run: pylit translate sync'
    src = source_of(path)
    assert src.exists(), f'{path}: no source module {src}'
    module = parse_module(decode_source(src.read_bytes()))
    assert sorted(data) == sorted(module_keys(module, src.name)), \
        f'{path} is out of date with {src}: run a translated build or `pylit translate sync`'
    for key, value in data.items():
        reason = validate(key, value)
        assert reason is None, f'{path}: {key[:60]!r}: {reason}'


@pytest.mark.parametrize('lang', LANGS)
def test_glossary_exists_and_the_markdown_is_generated_from_it(lang):
    from pylit.translate.glossary import load_glossary
    g = load_glossary(CACHE, lang)
    assert g is not None and len(g.terms) >= 20, f'no glossary.{lang}.yaml'
    assert (CACHE / f'glossary.{lang}.md').read_text(encoding='utf-8') == g.to_markdown(), \
        f'glossary.{lang}.md is out of date; run: pylit translate glossary --lang {lang}'


@pytest.mark.parametrize('lang', LANGS)
def test_every_page_translated_with_the_glossary_terms(lang):
    from pylit.translate.status import collect, totals
    pages = collect(SOURCES, CACHE, [lang], suggest=False)
    t = totals(pages)
    assert t['errors'] == 0 and t['invalid'] == 0
    assert t['untranslated'] == 0, [(p.module, p.untranslated_keys[:1]) for p in pages if p.untranslated]
    problems = [(p.module, g['term'], g['key'][:50]) for p in pages for g in p.glossary]
    assert problems == [], problems
