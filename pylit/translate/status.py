"""
---
title: Translation status
summary: >
  How much of each page is translated: counts of translated, untranslated, obsolete and
  invalid chunks per page and language, with suggestions from obsolete translations.
---

# Translation status

For every module and language we compare the keys the current source produces with the cache:

* **translated**: the value differs from the key and passes `validate`, or the chunk has no
  words to translate (only math, code or an image), so its English form is already right
* **invalid**: the value differs from the key but its placeholders do not match
* **untranslated**: no entry yet, or the value is the key itself
* **obsolete**: translations kept in the sidecar, plus real translations in the main file
  whose key the source no longer produces (the next build moves those to the sidecar)

When an English chunk was edited, its old translation is obsolete and the new key is
untranslated. For each untranslated key we look for the most similar obsolete key of the same
page: such a key is **outdated**, and the status shows its old translation next to the new
English (a fuzzy translation kept from a PO file counts the same way). `pylit translate accept`
takes these suggestions. A chunk that contains an English term of the language's glossary but
not the agreed translation is listed as a **glossary** problem. This only reads files.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..parse import ParseError, decode_source, parse_module
from .apply import needs_translation, validate
from .cache import CacheError, TranslationCache, module_path
from .keys import module_keys

# How similar (difflib ratio) an obsolete key must be to be suggested
SUGGEST_RATIO = 0.6


@dataclass
class Suggestion:
    key: str
    obsolete_key: str
    translation: str
    ratio: float
    origin: str = 'obsolete'   # or 'fuzzy' (kept from a PO file)


@dataclass
class PageStatus:
    module: str
    lang: str
    cache_file: str
    total: int = 0
    translated: int = 0
    untranslated: int = 0
    invalid: int = 0
    obsolete: int = 0
    error: str | None = None
    suggestions: list[Suggestion] = field(default_factory=list)
    invalid_keys: list[tuple[str, str]] = field(default_factory=list)
    untranslated_keys: list[str] = field(default_factory=list)
    glossary: list[dict] = field(default_factory=list)

    @property
    def outdated(self) -> int:
        """Untranslated chunks that have an old translation to start from."""
        return len(self.suggestions)

    @property
    def share(self) -> float:
        """The translated share of the page's chunks, 0 to 1 (1 for a page with no keys)."""
        return self.translated / self.total if self.total else 1.0

    def to_json(self) -> dict:
        d = asdict(self)
        d['share'] = round(self.share, 4)
        d['invalid_keys'] = [{'key': k, 'reason': r} for k, r in self.invalid_keys]
        d['outdated'] = self.outdated
        return d


def count_translations(keys: list[str], translations: dict[str, str]) -> tuple[int, int, int]:
    """`(translated, untranslated, invalid)` among `keys`."""
    translated = invalid = 0
    for key in keys:
        value = translations.get(key, key)
        if value == key and not needs_translation(key):
            translated += 1
        elif value != key:
            if validate(key, value) is None:
                translated += 1
            else:
                invalid += 1
    return translated, len(keys) - translated - invalid, invalid


def page_status(keys: list[str], translations: dict[str, str], obsolete: dict[str, str], *,
                module: str = '', lang: str = '', cache_file: str = '',
                suggest: bool = True, fuzzy: dict[str, str] | None = None,
                glossary=None) -> PageStatus:
    """The status of one page from its current keys, its cache entries and its sidecar."""
    st = PageStatus(module=module, lang=lang, cache_file=cache_file, total=len(keys))
    current = set(keys)
    pending = {k: v for k, v in translations.items() if k not in current and v != k}
    old = {**obsolete, **pending}
    st.obsolete = len(old)
    for key in keys:
        value = translations.get(key, key)
        if value == key and not needs_translation(key):
            # Only math or code: nothing to translate
            st.translated += 1
        elif value == key:
            st.untranslated += 1
            st.untranslated_keys.append(key)
            if suggest and fuzzy and key in fuzzy:
                st.suggestions.append(Suggestion(key, key, fuzzy[key], 1.0, 'fuzzy'))
            elif suggest and old:
                s = _suggest(key, old)
                if s is not None:
                    st.suggestions.append(s)
        else:
            reason = validate(key, value)
            if reason is None:
                st.translated += 1
                if glossary is not None:
                    for term, message in glossary.violations(key, value):
                        st.glossary.append({'key': key, 'term': term, 'message': message})
            else:
                st.invalid += 1
                st.invalid_keys.append((key, reason))
    if glossary is not None:
        done = [(k, translations[k]) for k in keys
                if translations.get(k, k) != k and validate(k, translations[k]) is None]
        for key, term, message in glossary.page_violations(done):
            st.glossary.append({'key': key, 'term': term, 'message': message})
    return st


def _suggest(key: str, old: dict[str, str]) -> Suggestion | None:
    """The obsolete translation whose key is most similar to `key`, if similar enough."""
    best = None
    m = difflib.SequenceMatcher(autojunk=False)
    # Placeholders count as one character each: their long markup would make any two
    # chunks with formulas look alike
    m.set_seq2(_squash(key))
    for old_key, value in old.items():
        m.set_seq1(_squash(old_key))
        if m.real_quick_ratio() < SUGGEST_RATIO or m.quick_ratio() < SUGGEST_RATIO:
            continue
        r = m.ratio()
        if r >= SUGGEST_RATIO and (best is None or r > best.ratio):
            best = Suggestion(key, old_key, value, round(r, 3))
    return best


def _squash(key: str) -> str:
    from .keys import PLACEHOLDER_RE
    return PLACEHOLDER_RE.sub('\x00', key)


def source_files(src_root: Path, paths: list[str] | None = None) -> list[Path]:
    """The `*.py` modules under `src_root` (or under the given paths inside it), sorted."""
    roots = [Path(p) for p in paths] if paths else [src_root]
    found = set()
    for r in roots:
        if r.is_file():
            found.add(r)
            continue
        for f in r.rglob('*.py'):
            rel = f.relative_to(r)
            if any(part.startswith('.') or part == '__pycache__' for part in rel.parts):
                continue
            found.add(f)
    return sorted(found, key=lambda p: module_path(p, src_root))


def module_status(source: Path, src_root: Path, cache_dir: Path, lang: str,
                  suggest: bool = True, glossary=None) -> PageStatus:
    """The status of one source module in one language (read only)."""
    mod = module_path(source, src_root)
    cache = TranslationCache(cache_dir, mod, lang)
    try:
        module = parse_module(decode_source(source.read_bytes(), str(source)))
    except ParseError as e:
        return PageStatus(mod, lang, str(cache.path), error=f'{source}:{e.lineno}: {e.message}')
    keys = module_keys(module, source.name)
    try:
        translations = cache.load()
        obsolete = cache.load_obsolete()
        fuzzy = cache.load_fuzzy()
    except CacheError as e:
        return PageStatus(mod, lang, str(cache.path), total=len(keys), untranslated=len(keys),
                          error=str(e))
    return page_status(keys, translations, obsolete, module=mod, lang=lang,
                       cache_file=str(cache.path), suggest=suggest, fuzzy=fuzzy, glossary=glossary)


def orphan_status(cache_dir: Path, lang: str, modules: set[str]) -> list[PageStatus]:
    """Cache files whose source module no longer exists: everything in them is obsolete."""
    from .cache import cache_files, sidecar_files
    out = []
    seen = set()
    for mod, _, path in cache_files(cache_dir, lang) + sidecar_files(cache_dir, lang):
        if mod in modules or mod in seen:
            continue
        seen.add(mod)
        cache = TranslationCache(cache_dir, mod, lang)
        try:
            main, side = cache.load(), cache.load_obsolete()
        except CacheError as e:
            out.append(PageStatus(mod, lang, str(cache.path), error=str(e)))
            continue
        st = page_status([], main, side, module=mod, lang=lang, cache_file=str(cache.path), suggest=False)
        out.append(st)
    return out


def collect(src_root: Path, cache_dir: Path, langs: list[str], paths: list[str] | None = None,
            suggest: bool = True) -> list[PageStatus]:
    """The status of every module under `src_root` in each language, plus orphaned caches."""
    from .glossary import load_glossary
    sources = source_files(src_root, paths)
    out = []
    for lang in langs:
        glossary = load_glossary(cache_dir, lang)
        for s in sources:
            out.append(module_status(s, src_root, cache_dir, lang, suggest, glossary))
        if not paths:
            out.extend(orphan_status(cache_dir, lang, {module_path(s, src_root) for s in sources}))
    return out


def totals(pages: list[PageStatus]) -> dict:
    t = {'pages': len(pages), 'total': 0, 'translated': 0, 'untranslated': 0, 'invalid': 0,
         'obsolete': 0, 'outdated': 0, 'glossary': 0, 'errors': 0}
    for p in pages:
        for k in ('total', 'translated', 'untranslated', 'invalid', 'obsolete', 'outdated'):
            t[k] += getattr(p, k)
        t['glossary'] += len(p.glossary)
        t['errors'] += p.error is not None
    t['share'] = round(t['translated'] / t['total'], 4) if t['total'] else 1.0
    return t


def format_table(pages: list[PageStatus], show_suggestions: bool = True) -> str:
    """A plain-text table of the pages and the totals per language, then problems and suggestions."""
    header = ('page', 'lang', 'translated', 'untranslated', 'outdated', 'obsolete', 'invalid',
              'glossary', 'share')
    body = [(p.module, p.lang, str(p.translated), str(p.untranslated), str(p.outdated),
             str(p.obsolete), str(p.invalid), str(len(p.glossary)),
             'error' if p.error else f'{p.share:.0%}') for p in pages]
    foot = []
    for lang in sorted({p.lang for p in pages}):
        t = totals([p for p in pages if p.lang == lang])
        foot.append((f'total ({t["pages"]} pages)', lang, str(t['translated']), str(t['untranslated']),
                     str(t['outdated']), str(t['obsolete']), str(t['invalid']), str(t['glossary']),
                     f'{t["share"]:.0%}'))
    widths = [max(len(r[i]) for r in [header] + body + foot) for i in range(len(header))]

    def fmt(r):
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:])]
        return '  '.join(cells).rstrip()

    rule = '  '.join('-' * w for w in widths)
    lines = [fmt(header), rule] + [fmt(r) for r in body] + [rule] + [fmt(r) for r in foot]
    for p in pages:
        if p.error:
            lines.append(f'error: {p.error}')
        for key, reason in p.invalid_keys:
            lines.append(f'invalid: {p.cache_file}: {_short(key)!r}: {reason}')
        for g in p.glossary:
            lines.append(f'glossary: {p.cache_file}: {_short(g["key"])!r}: {g["message"]}')
    if show_suggestions:
        for p in pages:
            for s in p.suggestions:
                if s.origin == 'fuzzy':
                    lines.append(f'outdated: {p.cache_file}: {_short(s.key)!r}\n'
                                 f'    has a fuzzy translation from a PO file: {_short(s.translation)!r}')
                    continue
                lines.append(f'outdated: {p.cache_file}: the English changed ({s.ratio:.0%} alike)\n'
                             f'    new English:     {_short(s.key)!r}\n'
                             f'    old English:     {_short(s.obsolete_key)!r}\n'
                             f'    old translation: {_short(s.translation)!r}')
        if any(p.suggestions for p in pages):
            lines.append('take the old translations with `pylit translate accept --lang LANG [PATH...]`, '
                         'then edit them to match the new English')
    return '\n'.join(lines)


def _short(s: str, n: int = 70) -> str:
    return s if len(s) <= n else s[:n] + '…'
