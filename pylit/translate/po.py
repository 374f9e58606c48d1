"""
---
title: PO export and import
summary: >
  Translators who work in Poedit, Weblate or similar tools get one gettext PO file per
  language, and their work comes back into the JSON caches without loss.
---

# PO export and import

One PO file holds a whole language. Each entry's `msgctxt` is the module path (such as
`optimizers/sophia`), so the same English text on two pages stays two entries, `msgid` is the
key and `msgstr` the translation, empty while untranslated (a cache value equal to its key).
Translations kept in a sidecar are exported as obsolete entries (`#~`), so they survive the
round trip too.

On import, an empty `msgstr` never overwrites a translation, fuzzy entries are skipped (in
gettext they are not ready), and every translation is checked like at build time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polib

from .apply import validate
from ..write import write_atomic
from .cache import TranslationCache, cache_files, check_module_path, sidecar_files

# No line wrapping: a PO file then has one line per field, which keeps diffs small and
# avoids splitting inside a placeholder.
WRAP_WIDTH = 0


class POError(Exception):
    pass


def build_po(cache_dir: Path | str, lang: str, modules: set[str] | None = None) -> polib.POFile:
    """A PO file with every cache entry and sidecar entry of `lang` (only `modules` if given)."""
    po = polib.POFile(wrapwidth=WRAP_WIDTH)
    po.metadata = {
        'Project-Id-Version': 'labml_nn annotated',
        'Language': lang,
        'MIME-Version': '1.0',
        'Content-Type': 'text/plain; charset=UTF-8',
        'Content-Transfer-Encoding': '8bit',
        'X-Generator': 'pylit translate export-po',
    }
    for mod, _, _ in cache_files(cache_dir, lang):
        if modules is not None and mod not in modules:
            continue
        cache = TranslationCache(cache_dir, mod, lang)
        for key, value in sorted(cache.load().items()):
            _check_encodable(cache.path, key, value)
            entry = polib.POEntry(msgctxt=mod, msgid=key, msgstr='' if value == key else value)
            reason = validate(key, value) if value != key else None
            if reason:
                entry.comment = f'not used by the build: {reason}'
            po.append(entry)
    for mod, _, _ in sidecar_files(cache_dir, lang):
        if modules is not None and mod not in modules:
            continue
        cache = TranslationCache(cache_dir, mod, lang)
        for key, value in sorted(cache.load_obsolete().items()):
            _check_encodable(cache.obsolete_path, key, value)
            po.append(polib.POEntry(msgctxt=mod, msgid=key, msgstr=value, obsolete=True))
    return po


def _check_encodable(path, key: str, value: str) -> None:
    """A PO file is UTF-8: a lone surrogate (possible through a JSON `\\ud800` escape) cannot go in."""
    for text in (key, value):
        try:
            text.encode('utf-8')
        except UnicodeEncodeError:
            raise POError(f'{path}: the entry {key[:40]!r} holds a lone surrogate escape '
                          f'(\\udXXX) that is not a character; fix it in the JSON file') from None


def export_po(cache_dir: Path | str, lang: str, out: Path | str,
              modules: set[str] | None = None) -> int:
    """Write the PO file of `lang` to `out` (atomically); returns the number of entries."""
    po = build_po(cache_dir, lang, modules)
    write_atomic(Path(out), str(po))
    return len(po)


@dataclass
class ImportResult:
    lang: str
    modules: list[str] = field(default_factory=list)
    translated: int = 0
    obsolete: int = 0
    fuzzy_skipped: int = 0
    files_written: int = 0
    warnings: list[str] = field(default_factory=list)


def read_po(path: Path | str) -> polib.POFile:
    try:
        return polib.pofile(str(path), wrapwidth=WRAP_WIDTH)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise POError(f'{path}: cannot read the PO file: {e}') from None


def po_language(po: polib.POFile) -> str | None:
    return (po.metadata.get('Language') or '').strip() or None


def import_po(po: polib.POFile, cache_dir: Path | str, lang: str, path: str = '<po>') -> ImportResult:
    """
    Put the translations of a PO file into the caches of `lang`.

    Entries go into the main file of their module (`msgctxt`), obsolete entries into its
    sidecar. Raises `POError` for an entry without a module.
    """
    result = ImportResult(lang)
    per_module: dict[str, tuple[dict, dict]] = {}
    for entry in po:
        if entry.msgid == '':
            continue
        if not entry.msgctxt:
            where = f':{entry.linenum}' if getattr(entry, 'linenum', None) else ''
            raise POError(f'{path}{where}: entry {entry.msgid[:40]!r} has no msgctxt (its module path); '
                          f'export the PO file again with `pylit translate export-po`')
        try:
            check_module_path(entry.msgctxt)
        except ValueError as e:
            raise POError(f'{path}:{entry.linenum}: {e}') from None
        entries, obsolete = per_module.setdefault(entry.msgctxt, ({}, {}))
        if entry.obsolete:
            if entry.msgstr:
                obsolete[entry.msgid] = entry.msgstr
                result.obsolete += 1
            continue
        if 'fuzzy' in entry.flags:
            result.fuzzy_skipped += 1
            continue
        value = entry.msgstr or entry.msgid
        if value != entry.msgid:
            result.translated += 1
            reason = validate(entry.msgid, value)
            if reason:
                result.warnings.append(f'{path}:{entry.linenum}: {entry.msgctxt}: translation of '
                                       f'{entry.msgid[:60]!r} will not be used: {reason}')
        entries[entry.msgid] = value
    for mod in sorted(per_module):
        entries, obsolete = per_module[mod]
        cache = TranslationCache(cache_dir, mod, lang)
        if cache.update(entries, obsolete):
            result.files_written += 1
        result.modules.append(mod)
    return result
