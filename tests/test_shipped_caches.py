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
from pylit.translate.cache import dumps
from pylit.translate.keys import module_keys

CACHE = REPO / 'translate_cache'
SOURCES = REPO / 'labml_nn'
FILES = sorted(p for p in CACHE.rglob('*.json') if not p.name.endswith('.obsolete.json'))


def source_of(cache_file: Path) -> Path:
    """`translate_cache/optimizers/sophia.zh.json` -> `labml_nn/optimizers/sophia.py`"""
    rel = cache_file.relative_to(CACHE)
    stem = rel.name.rsplit('.', 2)[0]
    return SOURCES / rel.parent / f'{stem}.py'


def test_there_are_caches_for_every_module_and_language():
    for lang in ('zh', 'ja'):
        for src in SOURCES.rglob('*.py'):
            rel = src.relative_to(SOURCES).with_suffix('')
            assert (CACHE / f'{rel}.{lang}.json').exists(), f'no {lang} cache for {src}'


@pytest.mark.parametrize('path', FILES, ids=lambda p: str(p.relative_to(CACHE)))
def test_cache_file(path):
    text = path.read_text(encoding='utf-8')
    data = json.loads(text)
    # The exact serialisation of the spec, so a rebuild leaves the file byte-identical
    assert text == dumps(data)
    src = source_of(path)
    assert src.exists(), f'{path}: no source module {src}'
    module = parse_module(decode_source(src.read_bytes()))
    assert sorted(data) == sorted(module_keys(module, src.name)), \
        f'{path} is out of date with {src}: run a translated build or `pylit translate sync`'
    for key, value in data.items():
        reason = validate(key, value)
        assert reason is None, f'{path}: {key[:60]!r}: {reason}'


@pytest.mark.parametrize('lang', ['zh', 'ja'])
def test_glossary_exists(lang):
    assert (CACHE / f'glossary.{lang}.md').read_text(encoding='utf-8').strip()
