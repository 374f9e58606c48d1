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
The file passes `msgfmt -c`: a full header, and a translation starts and ends with a newline
exactly when its English does (HTML does not care, gettext does).

Each entry tells the translator what they work on: a `#:` reference to the source line, and a
`#.` note for each placeholder `_^_N_^_` with the formula's TeX or the code it stands for. An
untranslated entry whose English was edited is pre-filled with the old translation, marked
`#, fuzzy`, with the old English as `#| msgid`. Translations kept in a sidecar are exported as
obsolete entries (`#~`), so they survive the round trip too.

On import:

* an empty `msgstr` never overwrites a translation;
* an invalid translation (a placeholder dropped, moved into a tag...) is reported with its line
  and never written, so it cannot replace a valid one;
* fuzzy entries are kept beside the cache (`<module>.<lang>.fuzzy.json`: not used by the build,
  offered by `status` and `accept`, exported again as fuzzy), and translator comments too
  (`<module>.<lang>.comments.json`);
* an entry whose module is not a page of the site is reported with a "did you mean" and skipped.
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass, field
from pathlib import Path

import polib

from .apply import validate
from ..write import write_atomic
from .cache import TranslationCache, cache_files, check_module_path, sidecar_files
from .keys import PLACEHOLDER_MARK_RE

# No line wrapping: a PO file then has one line per field, which keeps diffs small and
# avoids splitting inside a placeholder.
WRAP_WIDTH = 0


class POError(Exception):
    pass


@dataclass(frozen=True)
class SourceInfo:
    """What the export knows of a module's source: the file and, per key, its line and fragments."""
    path: str
    lines: dict
    fragments: dict


def source_info(src_root: Path | str, modules) -> dict[str, SourceInfo]:
    """`SourceInfo` of each module path in `modules` that has a source under `src_root`."""
    from ..parse import ParseError, decode_source, parse_module
    from .keys import docs_chunks, title_key, summary_key
    src_root = Path(src_root)
    out = {}
    for mod in modules:
        path = src_root / f'{mod}.py'
        if not path.is_file():
            continue
        try:
            module = parse_module(decode_source(path.read_bytes(), str(path)))
        except ParseError:
            continue
        lines, frags = {}, {}
        for k in (title_key(module, path.name), summary_key(module)):
            if k:
                lines.setdefault(k, 1)
        for section in module.sections:
            for chunk in docs_chunks(section.docs):
                lines.setdefault(chunk.key, section.line_of(0))
                frags.setdefault(chunk.key, chunk.fragments)
        out[mod] = SourceInfo(path=path.as_posix(), lines=lines, fragments=frags)
    return out


def _placeholder_notes(fragments) -> str:
    """One `#.` line per placeholder: what `_^_N_^_` stands for."""
    kinds = {'code': 'code', 'math': 'formula', 'display': 'formula', 'align': 'formula',
             'fenced': 'code block', 'image': 'image'}
    lines = []
    for n, f in enumerate(fragments):
        text = ' '.join(f.source.split())
        if len(text) > 160:
            text = text[:160] + '…'
        lines.append(f'_^_{n}_^_ = {kinds.get(f.kind, f.kind)}: {text}')
    return '\n'.join(lines)


def _match_newlines(msgid: str, msgstr: str) -> str:
    """`msgstr` starting and ending with a newline exactly when `msgid` does (`msgfmt -c`)."""
    if not msgstr:
        return msgstr
    body = msgstr.strip('\n')
    if not body:
        return msgid
    lead = '\n' if msgid.startswith('\n') else ''
    trail = '\n' if msgid.endswith('\n') else ''
    # keep the translator's inner newlines, only the ends are made to match
    start = len(msgstr) - len(msgstr.lstrip('\n'))
    end = len(msgstr.rstrip('\n'))
    return lead + msgstr[start:end] + trail


def team(lang: str) -> str:
    """The `Language-Team` header: the language's name from `pylit.languages`."""
    from ..languages import get
    known = get(lang)
    name = f'{known.english_name} ({known.name})' if known else lang
    return f'{name} translators of this repository (translate_cache/)'


PLURAL_FORMS = {'zh': 'nplurals=1; plural=0;', 'ja': 'nplurals=1; plural=0;',
                'si': 'nplurals=2; plural=(n != 1);'}


def build_po(cache_dir: Path | str, lang: str, modules: set[str] | None = None,
             src_root: Path | str | None = None) -> polib.POFile:
    """A PO file with every cache entry and sidecar entry of `lang` (only `modules` if given)."""
    from .status import _suggest
    po = polib.POFile(wrapwidth=WRAP_WIDTH)
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M+0000')
    po.metadata = {
        'Project-Id-Version': 'labml_nn annotated',
        'Report-Msgid-Bugs-To': 'the issue tracker of this repository',
        'POT-Creation-Date': now,
        'PO-Revision-Date': now,
        'Last-Translator': 'the contributors of translate_cache/ (see git log)',
        'Language-Team': team(lang),
        'Language': lang,
        'MIME-Version': '1.0',
        'Content-Type': 'text/plain; charset=UTF-8',
        'Content-Transfer-Encoding': '8bit',
        'Plural-Forms': PLURAL_FORMS.get(lang, 'nplurals=2; plural=(n != 1);'),
        'X-Generator': 'pylit translate export-po',
    }
    mods = [m for m, _, _ in cache_files(cache_dir, lang) if modules is None or m in modules]
    info = source_info(src_root, mods) if src_root is not None else {}
    for mod in mods:
        cache = TranslationCache(cache_dir, mod, lang)
        entries = cache.load()
        obsolete = {**cache.load_obsolete(), **{k: v for k, v in entries.items()
                                                if v != k and mod in info and k not in info[mod].lines}}
        fuzzy = cache.load_fuzzy()
        comments = cache.load_comments()
        src = info.get(mod)
        for key, value in sorted(entries.items()):
            _check_encodable(cache.path, key, value)
            entry = polib.POEntry(msgctxt=mod, msgid=key,
                                  msgstr='' if value == key else _match_newlines(key, value))
            notes = []
            if src is not None:
                if key in src.lines:
                    entry.occurrences = [(src.path, str(src.lines[key]))]
                if src.fragments.get(key):
                    notes.append(_placeholder_notes(src.fragments[key]))
            elif PLACEHOLDER_MARK_RE.search(key):
                notes.append('placeholders _^_N_^_ stand for math or code; keep each exactly once')
            reason = validate(key, value) if value != key else None
            if reason:
                notes.append(f'not used by the build: {reason}')
            if notes:
                entry.comment = '\n'.join(notes)
            if key in comments:
                entry.tcomment = comments[key]
            if value == key:
                # Pre-fill from a fuzzy translation kept from a PO file, or from the old
                # translation of a similar, edited English text
                if key in fuzzy:
                    entry.msgstr = _match_newlines(key, fuzzy[key])
                    entry.flags.append('fuzzy')
                elif obsolete:
                    s = _suggest(key, obsolete)
                    if s is not None:
                        entry.msgstr = _match_newlines(key, s.translation)
                        entry.flags.append('fuzzy')
                        entry.previous_msgctxt = mod
                        entry.previous_msgid = s.obsolete_key
            po.append(entry)
    for mod, _, _ in sidecar_files(cache_dir, lang):
        if modules is not None and mod not in modules:
            continue
        cache = TranslationCache(cache_dir, mod, lang)
        for key, value in sorted(cache.load_obsolete().items()):
            _check_encodable(cache.obsolete_path, key, value)
            po.append(polib.POEntry(msgctxt=mod, msgid=key, msgstr=_match_newlines(key, value),
                                    obsolete=True))
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
              modules: set[str] | None = None, src_root: Path | str | None = None) -> int:
    """Write the PO file of `lang` to `out` (atomically); returns the number of entries."""
    po = build_po(cache_dir, lang, modules, src_root)
    write_atomic(Path(out), str(po))
    return len(po)


@dataclass
class ImportResult:
    lang: str
    modules: list[str] = field(default_factory=list)
    translated: int = 0
    obsolete: int = 0
    fuzzy: int = 0
    comments: int = 0
    invalid: int = 0
    skipped_modules: int = 0
    files_written: int = 0
    warnings: list[str] = field(default_factory=list)


def read_po(path: Path | str) -> polib.POFile:
    try:
        return polib.pofile(str(path), wrapwidth=WRAP_WIDTH)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise POError(f'{path}: cannot read the PO file: {e}') from None


def po_language(po: polib.POFile) -> str | None:
    return (po.metadata.get('Language') or '').strip() or None


def import_po(po: polib.POFile, cache_dir: Path | str, lang: str, path: str = '<po>',
              modules: set[str] | None = None) -> ImportResult:
    """
    Put the translations of a PO file into the caches of `lang`.

    Entries go into the main file of their module (`msgctxt`), obsolete entries into its
    sidecar, fuzzy entries and translator comments beside it. With `modules` (the module paths
    of the site), an entry of any other module is reported and skipped. Raises `POError` for an
    entry without a module.
    """
    result = ImportResult(lang)
    per_module: dict[str, tuple[dict, dict, dict, dict]] = {}
    unknown_reported = set()
    # fuzzy entries with a previous msgid (`#|`): msgid -> the old English the export took them from
    prefilled: dict[str, dict[str, str]] = {}
    for entry in po:
        if entry.msgid == '':
            continue
        where = f'{path}:{entry.linenum}' if getattr(entry, 'linenum', None) else path
        if not entry.msgctxt:
            raise POError(f'{where}: entry {entry.msgid[:40]!r} has no msgctxt (its module path); '
                          f'export the PO file again with `pylit translate export-po`')
        try:
            check_module_path(entry.msgctxt)
        except ValueError as e:
            raise POError(f'{where}: {e}') from None
        mod = entry.msgctxt
        if modules is not None and mod not in modules and not entry.obsolete:
            result.skipped_modules += 1
            if mod not in unknown_reported:
                unknown_reported.add(mod)
                guess = difflib.get_close_matches(mod, sorted(modules), n=1, cutoff=0.5)
                hint = f' (did you mean {guess[0]}?)' if guess else ''
                result.warnings.append(f'{where}: no page {mod!r} in the sources{hint}; '
                                       f'its entries were skipped')
            continue
        entries, obsolete, fuzzy, comments = per_module.setdefault(mod, ({}, {}, {}, {}))
        if entry.obsolete:
            if entry.msgstr:
                obsolete[entry.msgid] = entry.msgstr
                result.obsolete += 1
            continue
        comments[entry.msgid] = entry.tcomment or ''
        result.comments += bool(entry.tcomment)
        if 'fuzzy' in entry.flags:
            if entry.msgstr:
                fuzzy[entry.msgid] = entry.msgstr
                result.fuzzy += 1
                if entry.previous_msgid:
                    prefilled.setdefault(mod, {})[entry.msgid] = entry.previous_msgid
            continue
        value = entry.msgstr or entry.msgid
        if value != entry.msgid:
            reason = validate(entry.msgid, value)
            if reason:
                result.invalid += 1
                result.warnings.append(f'{where}: {mod}: translation of {entry.msgid[:60]!r} '
                                       f'not imported: {reason}; the cache keeps what it had')
                continue
            result.translated += 1
            fuzzy[entry.msgid] = ''       # a real translation replaces a fuzzy one
        entries[entry.msgid] = value
    for mod in sorted(per_module):
        entries, obsolete, fuzzy, comments = per_module[mod]
        cache = TranslationCache(cache_dir, mod, lang)
        # A fuzzy entry that is still the export's pre-fill (the old translation of its `#|`
        # previous English, which stays in the sidecar as the suggestion) is not kept again
        if prefilled.get(mod):
            old = {**cache.load(), **cache.load_obsolete(), **obsolete}
            for key, previous in prefilled[mod].items():
                if key in fuzzy and previous in old and _match_newlines(key, old[previous]) == fuzzy[key]:
                    del fuzzy[key]
                    result.fuzzy -= 1
        # The export made the newlines at the ends match the English (msgfmt -c); a value that
        # differs from the cache only there keeps the cache's form, so a round trip changes nothing
        for current, new in ((cache.load(), entries), (cache.load_obsolete(), obsolete)):
            for key, value in new.items():
                old = current.get(key)
                if old is not None and old != value and _match_newlines(key, old) == value:
                    new[key] = old
        changed = cache.update(entries, obsolete)
        changed |= cache.save_notes(fuzzy, comments)
        result.files_written += changed
        result.modules.append(mod)
    return result
