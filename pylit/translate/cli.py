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
pylit translate prune --lang LANG [--dry-run]
pylit translate export-po --lang LANG [--out FILE] [--no-sync]
pylit translate import-po FILE [--lang LANG] [--no-sync]
```

Every command takes `--cache DIR` (default `translate_cache`) and `--src DIR`, the package root
whose modules are the pages (default `labml_nn`), both relative to the current folder.

* `status` counts translated, untranslated, obsolete and invalid chunks per page and in total
  (a table, or JSON with `--json`), and suggests obsolete translations for edited chunks.
  It exits with 1 when a cache file is malformed or a translation is invalid.
* `sync` rewrites the caches with the current keys, as a build does, and moves the caches
  of deleted modules into their sidecars.
* `prune` deletes the sidecars of obsolete translations of one language.
* `export-po` writes one PO file for a language (after a `sync`, so it has every current key).
* `import-po` reads one back into the caches (then a `sync`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..parse import ParseError, decode_source, parse_module
from .cache import (CacheError, TranslationCache, check_lang, languages, module_path,
                    retire_orphans, sidecar_files)
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
    sp.add_argument('--no-suggestions', action='store_true', help='do not list suggestions')
    sp.add_argument('paths', nargs='*', metavar='PATH', help='only these modules or folders (inside --src)')

    sp = sub.add_parser('sync', help='rewrite the caches with the current keys, as a build does')
    common(sp)
    sp.add_argument('--lang', action='append', required=True, help='language (repeat, or comma-separated)')
    sp.add_argument('paths', nargs='*', metavar='PATH', help='only these modules or folders (inside --src)')

    sp = sub.add_parser('prune', help='delete the sidecars of obsolete translations')
    common(sp)
    sp.add_argument('--lang', required=True, help='language')
    sp.add_argument('--dry-run', action='store_true', help='only list what would be deleted')

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
    return p


def _err(msg: str) -> None:
    print(f'pylit translate: error: {msg}', file=sys.stderr)


def _langs(values: list[str]) -> list[str]:
    out = []
    for v in values:
        for lang in v.split(','):
            if lang.strip():
                out.append(check_lang(lang.strip()))
    return list(dict.fromkeys(out))


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
    langs = _langs(a.lang) or languages(cache_dir)
    if not langs:
        _err(f'{cache_dir}: no cache files; give --lang LANG (such as --lang zh)')
        return 2
    for p in a.paths:
        if not Path(p).exists():
            _err(f'{p}: no such file or folder')
            return 2
    pages = collect(src, cache_dir, langs, a.paths or None, suggest=not a.no_suggestions)
    if a.json:
        out = {'keys_version': KEYS_VERSION, 'cache': str(cache_dir), 'src': str(src),
               'languages': {lang: totals([p for p in pages if p.lang == lang]) for lang in langs},
               'total': totals(pages),
               'pages': [p.to_json() for p in pages]}
        print(json.dumps(out, indent=1, ensure_ascii=False))
    else:
        print(format_table(pages, show_suggestions=not a.no_suggestions))
    bad = any(p.error or p.invalid for p in pages)
    return 1 if bad else 0


def cmd_sync(a) -> int:
    src, cache_dir = Path(a.src), Path(a.cache)
    if not _check_src(src):
        return 2
    status = 0
    for lang in _langs(a.lang):
        status = max(status, sync_all(src, cache_dir, lang, a.paths or None))
    return status


def cmd_prune(a) -> int:
    cache_dir = Path(a.cache)
    lang = check_lang(a.lang)
    total = files = 0
    status = 0
    for mod, _, path in sidecar_files(cache_dir, lang):
        cache = TranslationCache(cache_dir, mod, lang)
        try:
            n = len(cache.load_obsolete()) if a.dry_run else cache.prune()
        except CacheError as e:
            _err(str(e))
            status = 1
            continue
        total += n
        files += 1
        print(f'{"would delete" if a.dry_run else "deleted"} {path} ({n} obsolete translations)')
    print(f'{lang}: {files} sidecars, {total} obsolete translations '
          f'{"would be " if a.dry_run else ""}deleted', file=sys.stderr)
    return status


def cmd_export(a) -> int:
    from .po import POError, export_po
    src, cache_dir = Path(a.src), Path(a.cache)
    lang = check_lang(a.lang)
    if not a.no_sync:
        if not _check_src(src):
            return 2
        status = sync_all(src, cache_dir, lang, quiet=True)
        if status:
            _err('some caches could not be synced (see above); fix them or use --no-sync')
            return status
    out = Path(a.out) if a.out else Path('build') / 'po' / f'{lang}.po'
    try:
        n = export_po(cache_dir, lang, out)
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
    lang = a.lang or po_language(po)
    if not lang:
        _err(f'{a.po_file}: no Language header; give --lang LANG')
        return 2
    lang = check_lang(lang)
    if a.lang and po_language(po) and po_language(po) != a.lang:
        _err(f'{a.po_file}: its Language header is {po_language(po)!r} but --lang is {a.lang!r}')
        return 2
    try:
        r = import_po(po, cache_dir, lang, a.po_file)
    except (POError, CacheError) as e:
        _err(str(e))
        return 1
    for w in r.warnings:
        print(f'warning: {w}', file=sys.stderr)
    print(f'{lang}: {r.translated} translations and {r.obsolete} obsolete entries for {len(r.modules)} modules; '
          f'{r.files_written} cache files changed; {r.fuzzy_skipped} fuzzy entries skipped', file=sys.stderr)
    if not a.no_sync and src.is_dir():
        return sync_all(src, cache_dir, lang, quiet=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        a = _parser().parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    try:
        return {'status': cmd_status, 'sync': cmd_sync, 'prune': cmd_prune,
                'export-po': cmd_export, 'import-po': cmd_import}[a.command](a)
    except ValueError as e:
        _err(str(e))
        return 2
