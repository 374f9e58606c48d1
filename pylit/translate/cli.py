"""
---
title: Translation commands
summary: >
  The `pylit translate` commands for translators: status, sync, prune, export-po and import-po.
---

# Translation commands

```
pylit translate status [--lang LANG]... [--json] [--no-suggestions] [PATH...]
pylit translate sync --lang LANG [PATH...]
pylit translate accept --lang LANG [--dry-run] [--match TEXT] [PATH...]
pylit translate prune --lang LANG [--dry-run] [--all]
pylit translate export-po --lang LANG [--out FILE] [--no-sync]
pylit translate import-po FILE [--lang LANG] [--no-sync]
pylit translate glossary --lang LANG
```

A language is a code of `pylit/languages.py` or one of its locale names (`zh_CN` and `zh_Hans`
are zh); anything else is refused with a "did you mean". A PATH is a module or folder, given
inside `--src` (`labml_nn/optimizers`) or relative to it (`optimizers`, `optimizers/adam`).

Every command takes `--cache DIR` (default `translate_cache`) and `--src DIR`, the package root
whose modules are the pages (default `labml_nn`), both relative to the current folder.

* `status` counts translated, untranslated, outdated, obsolete and invalid chunks and glossary
  problems per page and in total (a table, or JSON with `--json`, which lists the untranslated
  keys too), shows each outdated translation next to its new English, and lists cache files
  whose name is wrong. It exits with 1 when a cache file is malformed or misnamed, a
  translation is invalid, or a glossary term is missing.
* `sync` rewrites the caches with the current keys, as a build does, and moves the caches
  of deleted modules into their sidecars.
* `accept` takes the suggestions `status` shows (old translations of edited English, fuzzy
  entries from a PO file) as translations, where their placeholders fit the new English.
* `prune` deletes the obsolete translations that are no longer a suggestion for any chunk
  (`--all`: every one).
* `glossary` regenerates `glossary.LANG.md` from `glossary.LANG.yaml`.
* `export-po` writes one PO file for a language (after a `sync`, so it has every current key).
* `import-po` reads one back into the caches (then a `sync`).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

from .. import languages as language_table
from ..parse import ParseError, decode_source, parse_module
from .cache import (CacheError, TranslationCache, cache_files, module_path, retire_orphans,
                    sidecar_files, SIDE_SUFFIXES)
from .keys import KEYS_VERSION, module_keys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='pylit translate',
                                description='Tools for the translation caches (one JSON file per module and language).')
    sub = p.add_subparsers(dest='command', required=True, metavar='COMMAND')

    def common(sp):
        sp.add_argument('--cache', '--translate_cache', dest='cache', default='translate_cache',
                        help='cache folder (default: translate_cache)')
        sp.add_argument('--src', default='labml_nn',
                        help='package root whose modules are the pages (default: labml_nn)')

    sp = sub.add_parser('status', help='how much of each page is translated')
    common(sp)
    sp.add_argument('--lang', action='append', default=[],
                    help='language (repeat, or comma-separated; default: every language in the cache)')
    sp.add_argument('--json', action='store_true', help='print JSON instead of a table')
    sp.add_argument('--no-suggestions', action='store_true', help='do not list outdated translations')
    sp.add_argument('paths', nargs='*', metavar='PATH', help='only these modules or folders (inside --src, or relative to it)')

    sp = sub.add_parser('sync', help='rewrite the caches with the current keys, as a build does')
    common(sp)
    sp.add_argument('--lang', action='append', required=True, help='language (repeat, or comma-separated)')
    sp.add_argument('paths', nargs='*', metavar='PATH', help='only these modules or folders (inside --src, or relative to it)')

    sp = sub.add_parser('accept', help='take the suggested old translations of edited chunks')
    common(sp)
    sp.add_argument('--lang', required=True, help='language')
    sp.add_argument('--match', metavar='TEXT', help='only chunks whose English contains TEXT')
    sp.add_argument('--dry-run', action='store_true', help='only list what would be accepted')
    sp.add_argument('paths', nargs='*', metavar='PATH', help='only these modules or folders (inside --src, or relative to it)')

    sp = sub.add_parser('prune', help='delete obsolete translations that no chunk can use any more')
    common(sp)
    sp.add_argument('--lang', required=True, help='language')
    sp.add_argument('--dry-run', action='store_true', help='only list what would be deleted')
    sp.add_argument('--all', action='store_true', help='delete every obsolete translation, suggestions too')

    sp = sub.add_parser('export-po', help='write a gettext PO file for a language')
    common(sp)
    sp.add_argument('--lang', required=True, help='language')
    sp.add_argument('--out', help='PO file to write (default: build/po/LANG.po)')
    sp.add_argument('--no-sync', action='store_true', help='export the caches as they are, without a sync first')

    sp = sub.add_parser('import-po', help='read a PO file back into the caches')
    common(sp)
    sp.add_argument('po_file', metavar='FILE', help='the PO file')
    sp.add_argument('--lang', help='language (default: the Language header of the PO file)')
    sp.add_argument('--no-sync', action='store_true', help='do not sync the caches with the sources afterwards')

    sp = sub.add_parser('glossary', help='write glossary.LANG.md from glossary.LANG.yaml')
    common(sp)
    sp.add_argument('--lang', required=True, help='language')
    return p


def _err(msg: str) -> None:
    print(f'pylit translate: error: {msg}', file=sys.stderr)


def _lang(value: str) -> str:
    """A language code of the table; `zh_CN` gives `zh`; raises `ValueError` with a hint."""
    lang = language_table.resolve(value)
    if lang.code == 'en':
        raise ValueError('en is the language of the sources; it has no translation cache')
    return lang.code


def _langs(values: list[str]) -> list[str]:
    out = []
    for v in values:
        for lang in v.split(','):
            if lang.strip():
                out.append(_lang(lang.strip()))
    return list(dict.fromkeys(out))


def resolve_paths(src: Path, paths: list[str]) -> list[str]:
    """
    The PATH arguments as paths inside `src`: `labml_nn/optimizers`, `optimizers` and
    `optimizers/adam` (a module path) all work. Raises `ValueError` with a hint otherwise.
    """
    out = []
    for p in paths:
        given = Path(p)
        candidates = [given, src / p, src / f'{p}.py']
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            modules = sorted(module_path(f, src) for f in src.rglob('*.py'))
            folders = sorted({m.rsplit('/', 1)[0] for m in modules if '/' in m})
            guess = difflib.get_close_matches(p.removeprefix(f'{src.as_posix()}/').removesuffix('.py'),
                                              modules + folders, n=1, cutoff=0.5)
            hint = f'; did you mean {guess[0]}?' if guess else ''
            raise ValueError(f'{p}: no module or folder of that name in {src} '
                             f'(give it as {src}/PATH or as PATH inside {src}){hint}')
        try:
            found.resolve().relative_to(src.resolve())
        except ValueError:
            raise ValueError(f'{p}: not inside the source folder {src} (--src)') from None
        if found is not given:
            print(f'note: {p} is read as {found.as_posix()}', file=sys.stderr)
        out.append(str(found))
    return out


def cache_problems(cache_dir: Path, src: Path) -> list[str]:
    """
    Cache files whose name cannot be right, one line each: an unknown language (`adam.cn.json`),
    a wrong extension (`adam.zh.JSON`), a module path in the wrong case (`Sophia.ja.json`) or
    one that is no page (`adamw.zh.json`).
    """
    if not cache_dir.is_dir():
        return []
    modules = {module_path(f, src) for f in src.rglob('*.py')} if src.is_dir() else set()
    lower = {m.lower(): m for m in modules}
    out = []
    for p in sorted(cache_dir.rglob('*')):
        if not p.is_file() or p.name.startswith('.'):
            continue
        name = p.name
        rel = p.relative_to(cache_dir).as_posix()
        stem, dot, ext = name.rpartition('.')
        if p.parent == cache_dir and name.startswith('glossary.'):
            continue
        if ext.lower() == 'json' and ext != 'json':
            out.append(f'{p}: the extension must be .json in lower case; rename it to {stem}.json')
            continue
        if ext != 'json':
            continue
        if any(name.endswith(x) for x in SIDE_SUFFIXES):
            base = name[:-len(next(x for x in SIDE_SUFFIXES if name.endswith(x)))]
        else:
            base = stem
        if '.' not in base:
            out.append(f'{p}: not a cache file name (MODULE.LANG.json)')
            continue
        mod_name, lang = base.rsplit('.', 1)
        mod = (p.parent.relative_to(cache_dir) / mod_name).as_posix()
        known = language_table.get(lang)
        if known is None or known.code != lang or lang == 'en':
            guess = known.code if known and known.code != 'en' else language_table._guess(lang)
            hint = f' (did you mean {guess}? then rename it to {mod_name}.{guess}.json)' if guess else ''
            out.append(f'{p}: {lang!r} is not a language code of pylit/languages.py{hint}')
            continue
        if not modules or mod in modules:
            continue
        if mod.lower() in lower:
            out.append(f'{p}: the module is {lower[mod.lower()]!r}, not {mod!r} (the case differs); '
                       f'rename the file to {Path(lower[mod.lower()]).name}.{lang}.json')
            continue
        if any(name.endswith(x) for x in SIDE_SUFFIXES):
            continue  # the sidecars of a deleted module keep its translations on purpose
        guess = difflib.get_close_matches(mod, sorted(modules), n=1, cutoff=0.5)
        hint = f' (did you mean {guess[0]}?)' if guess else ''
        out.append(f'{p}: no page {mod!r} in {src}{hint}; rename the file, or run '
                   f'`pylit translate sync --lang {lang}` to move its translations to the sidecar')
    return out


def out_of_form(cache_dir: Path, langs: list[str]) -> list[str]:
    """
    Cache files that load but are not laid out the way pylit writes them (hand-formatted JSON).
    They work; the next `sync` rewrites them, so a diff of them is easier to read after it.
    The reference tool's escaped form counts as in form.
    """
    from .cache import in_form, parse_cache_text
    out = []
    for lang in langs:
        for _, _, path in cache_files(cache_dir, lang):
            try:
                text = path.read_bytes().decode('utf-8-sig')
                data = parse_cache_text(text, path)
            except (OSError, UnicodeDecodeError, CacheError):
                continue  # reported as an error by the page's status
            if not in_form(text, data):
                out.append(f'{path} is not in the form pylit writes; run: pylit translate sync --lang {lang}')
    return out


def sync_all(src: Path, cache_dir: Path, lang: str, paths: list[str] | None = None,
             quiet: bool = False) -> int:
    """Sync every module's cache (and retire the caches of deleted modules); returns the exit status."""
    from .status import source_files
    status = 0
    sources = source_files(src, paths)
    seen = set()
    counts = {'written': 0, 'added': 0, 'obsoleted': 0, 'restored': 0, 'retired': 0}
    for s in sources:
        mod = module_path(s, src)
        seen.add(mod)
        try:
            module = parse_module(decode_source(s.read_bytes(), str(s)))
        except ParseError as e:
            _err(f'{s}:{e.lineno}: {e.message}')
            status = 1
            continue
        try:
            r = TranslationCache(cache_dir, mod, lang).sync(module_keys(module, s.name))
        except CacheError as e:
            _err(str(e))
            status = 1
            continue
        counts['written'] += r.written
        counts['added'] += r.added
        counts['obsoleted'] += len(r.obsoleted)
        counts['restored'] += len(r.restored)
    if not paths:
        try:
            retired = retire_orphans(cache_dir, lang, seen)
        except CacheError as e:
            _err(str(e))
            status = 1
            retired = []
        for _, r in retired:
            counts['retired'] += 1
            counts['obsoleted'] += len(r.obsoleted)
    if not quiet:
        print(f'{lang}: {len(sources)} modules, {counts["written"]} cache files written, '
              f'{counts["added"]} new keys, {counts["obsoleted"]} translations moved to sidecars, '
              f'{counts["restored"]} restored from sidecars, {counts["retired"]} caches of deleted modules retired',
              file=sys.stderr)
    return status


def _check_src(src: Path) -> bool:
    if not src.is_dir():
        _err(f'{src}: no such folder; run from the repository root or give --src DIR (the package root)')
        return False
    return True


def cmd_status(a) -> int:
    from .status import collect, format_table, totals
    src, cache_dir = Path(a.src), Path(a.cache)
    if not _check_src(src):
        return 2
    langs = _langs(a.lang) or [l.code for l in language_table.site_languages(cache_dir) if l.code != 'en']
    if not langs:
        _err(f'{cache_dir}: no cache files; give --lang LANG (such as --lang zh)')
        return 2
    paths = resolve_paths(src, a.paths)
    pages = collect(src, cache_dir, langs, paths or None, suggest=not a.no_suggestions)
    problems = cache_problems(cache_dir, src)
    notes = out_of_form(cache_dir, langs)
    if a.json:
        out = {'keys_version': KEYS_VERSION, 'cache': str(cache_dir), 'src': str(src),
               'languages': {lang: totals([p for p in pages if p.lang == lang]) for lang in langs},
               'total': totals(pages),
               'problems': problems,
               'out_of_form': notes,
               'pages': [p.to_json() for p in pages]}
        print(json.dumps(out, indent=1, ensure_ascii=False))
    else:
        print(format_table(pages, show_suggestions=not a.no_suggestions))
        for line in problems:
            print(f'error: {line}')
        for line in notes:
            print(f'note: {line}')
    bad = any(p.error or p.invalid or p.glossary for p in pages) or bool(problems)
    return 1 if bad else 0


def cmd_sync(a) -> int:
    src, cache_dir = Path(a.src), Path(a.cache)
    if not _check_src(src):
        return 2
    langs = _langs(a.lang)
    paths = resolve_paths(src, a.paths)
    status = 0
    for lang in langs:
        status = max(status, sync_all(src, cache_dir, lang, paths or None))
    for line in cache_problems(cache_dir, src):
        print(f'warning: {line}', file=sys.stderr)
    return status


def cmd_accept(a) -> int:
    from .status import collect
    src, cache_dir = Path(a.src), Path(a.cache)
    if not _check_src(src):
        return 2
    lang = _lang(a.lang)
    paths = resolve_paths(src, a.paths)
    pages = collect(src, cache_dir, [lang], paths or None, suggest=True)
    status = 0
    accepted = 0
    from .apply import validate
    for page in pages:
        if page.error:
            _err(page.error)
            status = 1
            continue
        take = {}
        for s in page.suggestions:
            if a.match and a.match not in s.key:
                continue
            reason = validate(s.key, s.translation)
            if reason:
                print(f'skipped: {page.cache_file}: {s.key[:60]!r}: the old translation does not fit '
                      f'the new English ({reason}); translate it by hand', file=sys.stderr)
                continue
            take[s.key] = s
        if not take:
            continue
        print(f'{"would accept" if a.dry_run else "accepted"} {len(take)} in {page.cache_file}')
        if a.dry_run:
            accepted += len(take)
            continue
        cache = TranslationCache(cache_dir, page.module, lang)
        try:
            cache.update({k: s.translation for k, s in take.items()})
            side = cache.load_obsolete()
            used = {s.obsolete_key for s in take.values() if s.origin == 'obsolete'}
            rest = {k: v for k, v in side.items() if k not in used}
            with cache.lock():
                cache._write_side(rest, side)
            cache.save_notes({k: '' for k, s in take.items() if s.origin == 'fuzzy'}, {})
        except CacheError as e:
            _err(str(e))
            status = 1
            continue
        accepted += len(take)
    print(f'{lang}: {accepted} suggestions {"would be " if a.dry_run else ""}accepted; '
          f'check them against the new English (pylit translate status)', file=sys.stderr)
    return status


def cmd_prune(a) -> int:
    from .status import collect
    src, cache_dir = Path(a.src), Path(a.cache)
    lang = _lang(a.lang)
    # Old translations that are still the suggestion for a chunk are kept (unless --all)
    keep: dict[str, set] = {}
    if not a.all and src.is_dir():
        for page in collect(src, cache_dir, [lang], None, suggest=True):
            keep.setdefault(page.module, set()).update(s.obsolete_key for s in page.suggestions)
    total = files = kept = 0
    status = 0
    for mod, _, path in sidecar_files(cache_dir, lang):
        cache = TranslationCache(cache_dir, mod, lang)
        try:
            side = cache.load_obsolete()
            rest = {k: v for k, v in side.items() if k in keep.get(mod, ())}
            n = len(side) - len(rest)
            if not a.dry_run and n:
                with cache.lock():
                    cache._write_side(rest, side)
        except CacheError as e:
            _err(str(e))
            status = 1
            continue
        kept += len(rest)
        if not n:
            continue
        total += n
        files += 1
        print(f'{"would delete" if a.dry_run else "deleted"} {n} obsolete translations from {path}'
              + (f' (kept {len(rest)} still suggested)' if rest else ''))
    print(f'{lang}: {total} obsolete translations in {files} sidecars {"would be " if a.dry_run else ""}deleted; '
          f'{kept} kept because a chunk can still use them (`accept` them, or prune --all)', file=sys.stderr)
    return status


def cmd_export(a) -> int:
    from .po import POError, export_po
    src, cache_dir = Path(a.src), Path(a.cache)
    lang = _lang(a.lang)
    if not a.no_sync:
        if not _check_src(src):
            return 2
        status = sync_all(src, cache_dir, lang, quiet=True)
        if status:
            _err('some caches could not be synced (see above); fix them or use --no-sync')
            return status
    out = Path(a.out) if a.out else Path('build') / 'po' / f'{lang}.po'
    try:
        n = export_po(cache_dir, lang, out, src_root=src if src.is_dir() else None)
    except (POError, CacheError) as e:
        _err(str(e))
        return 1
    print(f'wrote {out} ({n} entries)', file=sys.stderr)
    return 0


def cmd_import(a) -> int:
    from .po import POError, import_po, po_language, read_po
    src, cache_dir = Path(a.src), Path(a.cache)
    try:
        po = read_po(a.po_file)
    except POError as e:
        _err(str(e))
        return 1
    header = po_language(po)
    if not a.lang and not header:
        _err(f'{a.po_file}: no Language header; give --lang LANG')
        return 2
    try:
        header_lang = _lang(header) if header else None
    except ValueError as e:
        _err(f'{a.po_file}: the Language header: {e}')
        return 2
    lang = _lang(a.lang) if a.lang else header_lang
    if header_lang and header_lang != lang:
        _err(f'{a.po_file}: its Language header is {header!r} ({header_lang}) but --lang is {a.lang!r}')
        return 2
    if header and header != lang:
        print(f'note: {a.po_file}: Language {header!r} is read as {lang}', file=sys.stderr)
    modules = {module_path(f, src) for f in src.rglob('*.py')} if src.is_dir() else None
    try:
        r = import_po(po, cache_dir, lang, a.po_file, modules)
    except (POError, CacheError) as e:
        _err(str(e))
        return 1
    for w in r.warnings:
        print(f'warning: {w}', file=sys.stderr)
    print(f'{lang}: {r.translated} translations, {r.fuzzy} fuzzy (kept, not used), {r.comments} comments '
          f'and {r.obsolete} obsolete entries for {len(r.modules)} modules; {r.invalid} invalid and '
          f'{r.skipped_modules} of unknown pages not imported; {r.files_written} cache files changed',
          file=sys.stderr)
    status = 1 if r.invalid or r.skipped_modules else 0
    if not a.no_sync and src.is_dir():
        status = max(status, sync_all(src, cache_dir, lang, quiet=True))
    return status


def cmd_glossary(a) -> int:
    from .glossary import write_markdown
    lang = _lang(a.lang)
    out = write_markdown(Path(a.cache), lang)
    if out is None:
        _err(f'{Path(a.cache) / f"glossary.{lang}.yaml"}: no such file')
        return 2
    print(f'wrote {out}', file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        a = _parser().parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    try:
        return {'status': cmd_status, 'sync': cmd_sync, 'accept': cmd_accept, 'prune': cmd_prune,
                'export-po': cmd_export, 'import-po': cmd_import,
                'glossary': cmd_glossary}[a.command](a)
    except ValueError as e:
        _err(str(e))
        return 2
