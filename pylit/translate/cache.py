"""
---
title: Translation cache files
summary: >
  Reading, checking and rewriting the per-module, per-language JSON files of translations,
  so that nothing a translator wrote is ever lost and parallel builds never clash.
---

# Translation cache files

For the module `labml_nn/optimizers/sophia.py` and the language `zh` the translations live in
`translate_cache/optimizers/sophia.zh.json`: one flat JSON object from key to translation.
An untranslated key maps to itself.

When the English text changes, the file is rewritten with exactly the current keys. A real
translation (value different from its key) whose key is gone moves to the *sidecar*
`optimizers/sophia.zh.obsolete.json`, and comes back if the key reappears. Only
`pylit translate prune` deletes sidecars.

Every write is atomic (a temporary file, then `os.replace`) and happens under an exclusive
`fcntl.flock` on the folder, so two builds updating the same file one after the other both
see each other's entries. Content that did not change is not rewritten, so a rebuild leaves
the files byte-identical.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..write import write_atomic as _write_atomic

OBSOLETE_SUFFIX = '.obsolete.json'
# Beside a cache file: fuzzy translations from a PO file (not used by the build, kept for the
# translator) and translator comments from a PO file
FUZZY_SUFFIX = '.fuzzy.json'
COMMENTS_SUFFIX = '.comments.json'
SIDE_SUFFIXES = (OBSOLETE_SUFFIX, FUZZY_SUFFIX, COMMENTS_SUFFIX)


class CacheError(Exception):
    """A cache file that cannot be used; it is left untouched."""

    def __init__(self, path: Path | str, line: int, column: int, message: str):
        self.path = str(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self):
        return (f'{self.path}:{self.line}:{self.column}: {self.message} '
                f'(fix the file; it was left unchanged)')


class CacheWriteError(CacheError):
    """A cache file that could not be written (a read-only folder, a full disk)."""

    def __str__(self):
        return (f'{self.path}: cannot write the cache file: {self.message} '
                f'(make the folder writable; nothing was lost)')


def dumps(obj: dict[str, str]) -> str:
    """
    The exact serialization of a cache file (no trailing newline): the reference tool's layout,
    but written as UTF-8 text (`ensure_ascii=False`) so that translators and reviewers read real
    text. A file in the escaped form holds the same JSON value, so it loads the same.
    """
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False)


def escaped_dumps(obj: dict[str, str]) -> str:
    """The reference tool's escaped form (`\\uXXXX`), which still loads and counts as in sync."""
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=True)


def in_form(text: str, data: dict[str, str]) -> bool:
    """Whether a cache file's text is exactly how we write it (or the reference's escaped form)."""
    return text == dumps(data) or text == escaped_dumps(data)


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count('\n', 0, index) + 1
    column = index - (text.rfind('\n', 0, index) + 1) + 1
    return line, column


def parse_cache_text(text: str, path: Path | str) -> dict[str, str]:
    """
    Parse the text of a cache file: a JSON object whose values are all strings.

    Raises `CacheError` with the line and column of the first problem.
    """
    duplicates = []

    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                duplicates.append(k)
            obj[k] = v
        return obj

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise CacheError(path, e.lineno, e.colno, f'not valid JSON: {e.msg}') from None
    except RecursionError:
        raise CacheError(path, 1, 1, 'nested too deeply; a cache file is one flat object '
                                     '{"key": "translation", ...}') from None
    if not isinstance(data, dict):
        start = len(text) - len(text.lstrip())
        raise CacheError(path, *_position(text, start),
                         f'expected a JSON object {{"key": "translation", ...}}, found {type(data).__name__}')
    if duplicates:
        index = _value_index(text, duplicates[0])
        raise CacheError(path, *_position(text, index),
                         f'the key {_short(duplicates[0])!r} occurs more than once; keep one of its '
                         f'translations and delete the other')
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        index = _value_index(text, bad[0])
        kind = type(data[bad[0]]).__name__ if data[bad[0]] is not None else 'null'
        raise CacheError(path, *_position(text, index),
                         f'the value of {_short(bad[0])!r} is {kind}, not a string')
    for k, v in data.items():
        for text_ in (k, v):
            m = _SURROGATE_RE.search(text_)
            if m:
                index = _value_index(text, k)
                where = 'key' if text_ is k else 'value'
                raise CacheError(path, *_position(text, index),
                                 f'the {where} of {_short(k)!r} holds a lone surrogate escape '
                                 f'(\\u{ord(m.group(0)):04x}) that is not a character; '
                                 f'write the character itself')
    return data


_SURROGATE_RE = re.compile('[\ud800-\udfff]')


def _value_index(text: str, wanted: str) -> int:
    """Where the value of key `wanted` starts in the text of a JSON object (its last occurrence)."""
    decoder = json.JSONDecoder()
    ws = ' \t\n\r'
    i = text.index('{') + 1
    found = 0
    while True:
        while text[i] in ws:
            i += 1
        if text[i] == '}':
            return found
        key, i = json.decoder.scanstring(text, i + 1)
        while text[i] in ws:
            i += 1
        i += 1  # the colon
        while text[i] in ws:
            i += 1
        if key == wanted:
            found = i
        _, i = decoder.raw_decode(text, i)
        while text[i] in ws:
            i += 1
        if text[i] == ',':
            i += 1


def _short(key: str, n: int = 60) -> str:
    return key if len(key) <= n else key[:n] + '…'


def read_cache_file(path: Path) -> dict[str, str] | None:
    """The entries of a cache file, `None` if it does not exist; raises `CacheError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CacheError(path, 0, 0, f'cannot read the file: {e.strerror or e}') from None
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError as e:
        line, col = _position(data[:e.start].decode('utf-8', 'replace'), e.start)
        raise CacheError(path, line, col, 'not valid UTF-8') from None
    return parse_cache_text(text, path)


def write_atomic(path: Path, text: str) -> bool:
    """
    Write a cache file atomically and durably; `False` when it already holds `text`.
    Raises `CacheWriteError` (one line) when the file or its folder cannot be written.
    """
    try:
        return _write_atomic(path, text, durable=True)
    except OSError as e:
        raise CacheWriteError(path, 0, 0, e.strerror or str(e)) from None


@contextlib.contextmanager
def folder_lock(folder: Path):
    """An exclusive `flock` on a folder: one writer at a time for the cache files in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY)
    except OSError as e:
        raise CacheWriteError(folder, 0, 0, e.strerror or str(e)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def module_path(source: Path | str, package_root: Path | str) -> str:
    """
    The module path of a source file: relative to the package root, without `.py`
    (`labml_nn/optimizers/sophia.py` with root `labml_nn` gives `optimizers/sophia`).
    A `readme.md` keeps its name without `.md`.
    """
    rel = Path(os.path.relpath(source, package_root)).as_posix()
    for ext in ('.py', '.md'):
        if rel.endswith(ext):
            return rel[:-len(ext)]
    return rel


_LANG_RE = re.compile(r'^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$')


def check_lang(lang: str) -> str:
    """A language code such as `zh`, `ja` or `pt-BR`; raises `ValueError` otherwise."""
    if not _LANG_RE.match(lang or ''):
        raise ValueError(f'{lang!r} is not a language code (such as zh, ja or pt-BR)')
    return lang


def check_module_path(module: str) -> str:
    """A relative module path inside the cache folder; raises `ValueError` otherwise."""
    parts = module.split('/')
    if (not module or module.startswith('/') or '\\' in module or '\0' in module
            or any(p in ('', '.', '..') for p in parts)):
        raise ValueError(f'{module!r} is not a module path (such as optimizers/sophia)')
    return module


@dataclass
class SyncResult:
    """What `TranslationCache.sync` did."""
    translations: dict[str, str]
    added: int = 0
    restored: list[str] = field(default_factory=list)
    obsoleted: list[str] = field(default_factory=list)
    dropped: int = 0
    written: bool = False
    # The sidecar after the sync: old translations, the suggestions for changed chunks
    obsolete: dict[str, str] = field(default_factory=dict)


class TranslationCache:
    """
    The cache file of one module in one language, and its sidecar.

    * `cache_dir` is the cache folder, such as `translate_cache`
    * `module` is the module path, such as `optimizers/sophia`
    * `lang` is the language code, such as `zh`
    """

    def __init__(self, cache_dir: Path | str, module: str, lang: str):
        check_module_path(module)
        check_lang(lang)
        self.cache_dir = Path(cache_dir)
        self.module = module
        self.lang = lang
        self.path = self.cache_dir / f'{module}.{lang}.json'
        self.obsolete_path = self.cache_dir / f'{module}.{lang}{OBSOLETE_SUFFIX}'
        self.fuzzy_path = self.cache_dir / f'{module}.{lang}{FUZZY_SUFFIX}'
        self.comments_path = self.cache_dir / f'{module}.{lang}{COMMENTS_SUFFIX}'

    def __repr__(self):
        return f'TranslationCache({str(self.path)!r})'

    def load(self) -> dict[str, str]:
        """The entries of the main file (`{}` if it does not exist); raises `CacheError`."""
        return read_cache_file(self.path) or {}

    def load_obsolete(self) -> dict[str, str]:
        """The entries of the sidecar (`{}` if it does not exist); raises `CacheError`."""
        return read_cache_file(self.obsolete_path) or {}

    def load_fuzzy(self) -> dict[str, str]:
        """Fuzzy translations kept from a PO file (`{}` if none); raises `CacheError`."""
        return read_cache_file(self.fuzzy_path) or {}

    def load_comments(self) -> dict[str, str]:
        """Translator comments kept from a PO file (`{}` if none); raises `CacheError`."""
        return read_cache_file(self.comments_path) or {}

    def save_notes(self, fuzzy: dict[str, str], comments: dict[str, str]) -> bool:
        """Merge fuzzy translations and translator comments into their files (empty ones are removed)."""
        written = False
        with self.lock():
            for path, add in ((self.fuzzy_path, fuzzy), (self.comments_path, comments)):
                old = read_cache_file(path) or {}
                new = {**old, **{k: v for k, v in add.items() if v}}
                for k, v in add.items():
                    if not v:
                        new.pop(k, None)
                if new == old:
                    continue
                if new:
                    written |= write_atomic(path, dumps(new))
                elif path.exists():
                    path.unlink()
                    written = True
        return written

    def lock(self):
        return folder_lock(self.path.parent)

    def sync(self, current_keys, write: bool = True) -> SyncResult:
        """
        Rewrite the main file with exactly `current_keys`, keeping existing values.

        A new key maps to itself, or to its translation from the sidecar. A dropped key with
        a real translation moves to the sidecar. Raises `CacheError` (writing nothing) if
        either file is malformed, and `CacheWriteError` if it cannot be written (its `result`
        then holds the translations, so a build can still use them).

        With `write=False` (the live preview) nothing is written: the result holds what the
        file would hold, and the files stay exactly as they are.
        """
        if not write:
            return self._merge(current_keys, self.load(), self.load_obsolete())[0]
        with self.lock():
            main = self.load()
            side = self.load_obsolete()
            result, side, side_before = self._merge(current_keys, main, side)
            try:
                result.written = self._write(result.translations, side, side_before)
            except CacheWriteError as e:
                e.result = result
                raise
            return result

    @staticmethod
    def _merge(current_keys, main: dict, side: dict):
        """The new main file and sidecar for `current_keys` (nothing is written)."""
        side = dict(side)
        result = SyncResult(translations={})
        new = {}
        side_before = dict(side)
        for key in current_keys:
            if key in new:
                continue
            value = main.get(key)
            old = side.pop(key, None)
            if value is None:
                result.added += 1
                value = key
            if value == key and old is not None and old != key:
                value = old
                result.restored.append(key)
            new[key] = value
        for key, value in main.items():
            if key in new:
                continue
            if value != key:
                side[key] = value
                result.obsoleted.append(key)
            else:
                result.dropped += 1
        result.translations = new
        result.obsolete = dict(side)
        return result, side, side_before

    def retire(self) -> SyncResult:
        """The source module is gone: move its real translations to the sidecar, delete the main file."""
        with self.lock():
            main = read_cache_file(self.path)
            side = self.load_obsolete()
            result = SyncResult(translations={})
            if main is None:
                return result
            side_before = dict(side)
            for key, value in main.items():
                if value != key:
                    side[key] = value
                    result.obsoleted.append(key)
                else:
                    result.dropped += 1
            self._write_side(side, side_before)
            self.path.unlink()
            result.written = True
            return result

    def update(self, entries: dict[str, str], obsolete: dict[str, str] | None = None) -> bool:
        """
        Set translations (used by `import-po`): `entries` go into the main file (a key not
        yet there is added), `obsolete` entries are merged into the sidecar unless the key is
        in the main file. Returns whether anything was written.
        """
        with self.lock():
            main = self.load()
            side = self.load_obsolete()
            side_before = dict(side)
            new = dict(main)
            for key, value in entries.items():
                # An untranslated entry never replaces a translation
                if value == key and new.get(key, key) != key:
                    continue
                new[key] = value
                side.pop(key, None)
            for key, value in (obsolete or {}).items():
                if key not in new and value != key:
                    side[key] = value
            return self._write(new, side, side_before, create=bool(new) or self.path.exists())

    def prune(self) -> int:
        """Delete the sidecar; returns how many entries it held."""
        with self.lock():
            side = read_cache_file(self.obsolete_path)
            if side is None:
                return 0
            self.obsolete_path.unlink()
            return len(side)

    def _write(self, main: dict, side: dict, side_before: dict, create: bool = True) -> bool:
        written = False
        # The sidecar first: a translation is never only in memory
        written |= self._write_side(side, side_before)
        if create or self.path.exists():
            written |= write_atomic(self.path, dumps(main))
        return written

    def _write_side(self, side: dict, side_before: dict) -> bool:
        if side:
            return write_atomic(self.obsolete_path, dumps(side))
        if self.obsolete_path.exists():
            try:
                self.obsolete_path.unlink()
            except OSError as e:
                raise CacheWriteError(self.obsolete_path, 0, 0, e.strerror or str(e)) from None
            return True
        return False


def _files(cache_dir: Path | str, lang: str | None, suffix: str) -> list[tuple[str, str, Path]]:
    """The files `<module path>.<lang><suffix>` under `cache_dir`, as `(module path, lang, path)`."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return []
    out = []
    for p in cache_dir.rglob(f'*{suffix}'):
        name = p.name
        if name.startswith('.') or any(name.endswith(x) for x in SIDE_SUFFIXES if x != suffix):
            continue
        stem = name[:-len(suffix)]
        if '.' not in stem:
            continue
        base, file_lang = stem.rsplit('.', 1)
        if lang is not None and file_lang != lang:
            continue
        rel = p.parent.relative_to(cache_dir).as_posix()
        out.append((base if rel == '.' else f'{rel}/{base}', file_lang, p))
    return sorted(out)


def cache_files(cache_dir: Path | str, lang: str | None = None) -> list[tuple[str, str, Path]]:
    """
    The main cache files under `cache_dir` as `(module path, lang, path)`, sorted;
    only those of `lang` if given. Sidecars are not listed.
    """
    return _files(cache_dir, lang, '.json')


def retire_orphans(cache_dir: Path | str, lang: str, modules) -> list[tuple[str, SyncResult]]:
    """
    Retire the `lang` caches whose module is not in `modules` (the module paths of every
    source, after a full build): their real translations move to the sidecars and the main
    files are deleted. Raises `CacheError` on a malformed file (after retiring the others).
    """
    modules = set(modules)
    out = []
    errors = []
    for mod, _, _ in cache_files(cache_dir, lang):
        if mod in modules:
            continue
        try:
            out.append((mod, TranslationCache(cache_dir, mod, lang).retire()))
        except CacheError as e:
            errors.append(e)
    if errors:
        raise errors[0]
    return out


def sidecar_files(cache_dir: Path | str, lang: str | None = None) -> list[tuple[str, str, Path]]:
    """The sidecar files under `cache_dir` as `(module path, lang, path)`, sorted."""
    return _files(cache_dir, lang, OBSOLETE_SUFFIX)


def languages(cache_dir: Path | str) -> list[str]:
    """The languages that have cache files or sidecars under `cache_dir`."""
    return sorted({lang for _, lang, _ in cache_files(cache_dir) + sidecar_files(cache_dir)})
