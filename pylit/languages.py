"""
---
title: Languages
summary: >
  The languages the site can be written in: one row of data per language, with the locale
  names other tools use for it, so that adding a language needs no code.
---

# Languages

Adding a language is data only:

1. a row in `LANGUAGES` below (its code, its name in its own script, the `lang` attribute of its
   pages and the locale names that tools such as Poedit and Weblate write for it);
2. its page-frame strings in `pylit/messages/<code>.json` (every key of `en.json`);
3. its caches `translate_cache/<module>.<code>.json`, created by `pylit translate sync --lang CODE`.

The site then has the language: `site_languages` lists English and every language of the table
that has caches.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Language:
    """One language of the site."""
    code: str
    name: str
    html_lang: str
    aliases: tuple[str, ...] = ()
    rtl: bool = False
    english_name: str = ''


LANGUAGES: tuple[Language, ...] = (
    Language('en', 'English', 'en', ('en_US', 'en_GB', 'en-US', 'en-GB'), english_name='English'),
    Language('zh', '中文', 'zh-Hans',
             ('zh_CN', 'zh-CN', 'zh_Hans', 'zh-Hans', 'zh_SG', 'zh-Hans-CN', 'zh_Hans_CN', 'cmn'),
             english_name='Chinese (Simplified)'),
    Language('ja', '日本語', 'ja', ('ja_JP', 'ja-JP', 'jp'), english_name='Japanese'),
    Language('si', 'සිංහල', 'si', ('si_LK', 'si-LK', 'sin'), english_name='Sinhala'),
)

_BY_NAME = {}
for _lang in LANGUAGES:
    for _name in (_lang.code, *_lang.aliases):
        _BY_NAME[_name.lower()] = _lang


def get(code: str) -> Language | None:
    """The language of a code or locale name (`zh_CN` gives zh), or `None`."""
    return _BY_NAME.get((code or '').strip().lower())


def resolve(code: str) -> Language:
    """
    The language of a code or locale name; raises `ValueError` with a one-line message and a
    "did you mean" hint for anything else.
    """
    lang = get(code)
    if lang is not None:
        return lang
    known = ', '.join(l.code for l in LANGUAGES)
    guess = _guess(code)
    hint = f'; did you mean {guess}?' if guess else ''
    raise ValueError(f'unknown language {code!r} (known: {known}){hint} '
                     f'A new language needs a row in pylit/languages.py')


def _guess(code: str) -> str | None:
    text = (code or '').strip().lower()
    if not text:
        return None
    common = {'cn': 'zh', 'chs': 'zh', 'jp': 'ja', 'jpn': 'ja', 'sl': 'si', 'lk': 'si'}
    if text in common:
        return common[text]
    base = text.replace('-', '_').split('_')[0]
    if base in _BY_NAME:
        return _BY_NAME[base].code
    match = difflib.get_close_matches(text, list(_BY_NAME), n=1, cutoff=0.5)
    return _BY_NAME[match[0]].code if match else None


def codes() -> list[str]:
    return [l.code for l in LANGUAGES]


_SIDE = ('.obsolete.json', '.fuzzy.json', '.comments.json')


def site_languages(cache_dir: Path | str | None) -> list[Language]:
    """English, then every language of the table that has cache files under `cache_dir`."""
    have = set()
    root = Path(cache_dir) if cache_dir is not None else None
    if root is not None and root.is_dir():
        for p in root.rglob('*.json'):
            name = p.name
            if name.startswith('.') or name.endswith(_SIDE) or name.count('.') < 2:
                continue
            have.add(name[:-len('.json')].rsplit('.', 1)[1])
    return [l for l in LANGUAGES if l.code == 'en' or l.code in have]


if __name__ == '__main__':
    # `python3 pylit/languages.py translate_cache` prints the translated languages (for the
    # Makefile), with only the standard library
    import sys
    print(' '.join(l.code for l in site_languages(sys.argv[1] if len(sys.argv) > 1 else 'translate_cache')
                   if l.code != 'en'))
