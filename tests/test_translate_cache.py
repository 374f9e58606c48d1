"""The translation cache files: format, sync, the obsolete sidecar, errors and locking."""

import json
import multiprocessing as mp
import os

import pytest

from pylit.translate.cache import (CacheError, TranslationCache, cache_files, check_lang,
                                   check_module_path, dumps, languages, module_path,
                                   sidecar_files)


def test_paths(tmp_path):
    c = TranslationCache(tmp_path, 'optimizers/sophia', 'zh')
    assert c.path == tmp_path / 'optimizers' / 'sophia.zh.json'
    assert c.obsolete_path == tmp_path / 'optimizers' / 'sophia.zh.obsolete.json'
    assert module_path('labml_nn/optimizers/sophia.py', 'labml_nn') == 'optimizers/sophia'
    assert module_path('labml_nn/optimizers/__init__.py', 'labml_nn') == 'optimizers/__init__'
    assert module_path('pkg/optim/readme.md', 'pkg') == 'optim/readme'


@pytest.mark.parametrize('bad', ['../x', '/abs', 'a/../b', '', 'a//b', 'a\\b'])
def test_bad_module_paths_are_refused(bad):
    with pytest.raises(ValueError):
        check_module_path(bad)


@pytest.mark.parametrize('bad', ['', 'z', '../zh', 'zh/x', 'zh.json'])
def test_bad_languages_are_refused(bad):
    with pytest.raises(ValueError):
        check_lang(bad)
    assert check_lang('pt-BR') == 'pt-BR'


def test_sync_writes_exact_format_and_identity_values(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    r = c.sync(['b’', 'a', 'a'])
    assert r.added == 2 and r.written
    text = c.path.read_text(encoding='utf-8')
    # UTF-8, readable (issue 15); the layout and order of the reference tool
    assert text == '{\n "a": "a",\n "b’": "b’"\n}'
    assert r.translations == {'b’': 'b’', 'a': 'a'}


def test_sync_empty_key_set_writes_braces(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    c.sync([])
    assert c.path.read_text() == '{}'


def test_unchanged_content_is_not_rewritten(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    c.sync(['a', 'b'])
    before = os.stat(c.path)
    r = c.sync(['b', 'a'])
    after = os.stat(c.path)
    assert not r.written
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_sync_keeps_values_and_moves_dropped_translations_to_sidecar(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    c.path.parent.mkdir(parents=True, exist_ok=True)
    c.path.write_text(dumps({'keep': 'KEEP', 'old': 'OLD', 'plain': 'plain'}))
    r = c.sync(['keep', 'new'])
    assert json.loads(c.path.read_text()) == {'keep': 'KEEP', 'new': 'new'}
    assert c.obsolete_path.read_text() == dumps({'old': 'OLD'})
    assert r.obsoleted == ['old'] and r.dropped == 1 and r.added == 1


def test_sidecar_is_merged_and_restored_and_deleted_when_empty(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    c.path.parent.mkdir(parents=True, exist_ok=True)
    c.obsolete_path.write_text(dumps({'x': 'X-old'}))
    c.path.write_text(dumps({'y': 'Y'}))
    c.sync(['z'])
    # merged, never overwritten
    assert json.loads(c.obsolete_path.read_text()) == {'x': 'X-old', 'y': 'Y'}
    # a key that comes back gets its translation from the sidecar
    r = c.sync(['y', 'z'])
    assert r.restored == ['y']
    assert json.loads(c.path.read_text()) == {'y': 'Y', 'z': 'z'}
    assert json.loads(c.obsolete_path.read_text()) == {'x': 'X-old'}
    r = c.sync(['x', 'y', 'z'])
    assert json.loads(c.path.read_text()) == {'x': 'X-old', 'y': 'Y', 'z': 'z'}
    assert not c.obsolete_path.exists()


def test_restore_does_not_replace_a_real_translation(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    c.path.parent.mkdir(parents=True, exist_ok=True)
    c.path.write_text(dumps({'k': 'NEW'}))
    c.obsolete_path.write_text(dumps({'k': 'OLD', 'j': 'J'}))
    c.sync(['k'])
    assert json.loads(c.path.read_text()) == {'k': 'NEW'}
    assert json.loads(c.obsolete_path.read_text()) == {'j': 'J'}


def test_retire_moves_translations_of_a_deleted_module(tmp_path):
    c = TranslationCache(tmp_path, 'gone', 'ja')
    c.path.write_text(dumps({'a': 'A', 'b': 'b'}))
    c.retire()
    assert not c.path.exists()
    assert json.loads(c.obsolete_path.read_text()) == {'a': 'A'}


def test_prune_deletes_sidecar(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    c.path.write_text(dumps({'a': 'a'}))
    c.obsolete_path.write_text(dumps({'b': 'B', 'c': 'C'}))
    assert c.prune() == 2
    assert not c.obsolete_path.exists() and c.path.exists()
    assert c.prune() == 0


def test_listing(tmp_path):
    for rel in ['a/x.zh.json', 'a/x.zh.obsolete.json', 'y.ja.json', 'a/b/__init__.zh.json']:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('{}')
    assert [(m, lang) for m, lang, _ in cache_files(tmp_path)] == [
        ('a/b/__init__', 'zh'), ('a/x', 'zh'), ('y', 'ja')]
    assert [(m, lang) for m, lang, _ in sidecar_files(tmp_path)] == [('a/x', 'zh')]
    assert languages(tmp_path) == ['ja', 'zh']


# ## Malformed files


def test_invalid_json_names_file_line_column_and_is_untouched(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    bad = '{\n "a": "a",\n "b": "b"\n "c": "c"\n}'
    c.path.write_text(bad)
    with pytest.raises(CacheError) as e:
        c.sync(['a'])
    assert (e.value.line, e.value.column) == (4, 2)
    assert str(c.path) in str(e.value) and ':4:2:' in str(e.value)
    assert c.path.read_text() == bad
    assert not c.obsolete_path.exists()


def test_non_string_value_names_its_position(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    bad = '{\n "a": "a",\n "b":   12,\n "c": "c"\n}'
    c.path.write_text(bad)
    with pytest.raises(CacheError) as e:
        c.load()
    assert (e.value.line, e.value.column) == (3, 9)
    assert 'not a string' in str(e.value)
    c.path.write_text('{"a": null}')
    with pytest.raises(CacheError) as e:
        c.load()
    assert (e.value.line, e.value.column) == (1, 7) and 'null' in str(e.value)
    c.path.write_text('["a"]')
    with pytest.raises(CacheError) as e:
        c.load()
    assert 'JSON object' in str(e.value)


def test_malformed_sidecar_stops_sync(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    c.path.write_text(dumps({'a': 'A'}))
    c.obsolete_path.write_text('{"x": [1]}')
    with pytest.raises(CacheError):
        c.sync(['b'])
    assert c.path.read_text() == dumps({'a': 'A'})


def test_no_temporary_files_left(tmp_path):
    c = TranslationCache(tmp_path, 'm', 'zh')
    c.sync(['a'])
    c.sync(['b'])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.zh.json']


# ## Parallel writers


def _writer(args):
    cache_dir, worker, n = args
    c = TranslationCache(cache_dir, 'shared/page', 'zh')
    for i in range(n):
        c.update({f'k{worker}-{i}': f'v{worker}-{i}'})
    return worker


def test_parallel_updates_never_lose_an_entry(tmp_path):
    workers, n = 4, 15
    ctx = mp.get_context('fork')
    with ctx.Pool(workers) as pool:
        pool.map(_writer, [(str(tmp_path), w, n) for w in range(workers)])
    data = json.loads((tmp_path / 'shared' / 'page.zh.json').read_text())
    assert data == {f'k{w}-{i}': f'v{w}-{i}' for w in range(workers) for i in range(n)}


def _syncer(args):
    cache_dir, worker = args
    c = TranslationCache(cache_dir, 'p', 'zh')
    for _ in range(10):
        c.sync(['shared', f'only{worker}'])
    return worker


def test_parallel_syncs_keep_every_translation(tmp_path):
    c = TranslationCache(tmp_path, 'p', 'zh')
    c.path.write_text(dumps({'shared': 'SHARED', 'only0': 'ZERO', 'only1': 'ONE'}))
    ctx = mp.get_context('fork')
    with ctx.Pool(2) as pool:
        pool.map(_syncer, [(str(tmp_path), 0), (str(tmp_path), 1)])
    main = json.loads(c.path.read_text())
    side = c.load_obsolete()
    # whichever wrote last, no translation is lost: it is in the main file or the sidecar
    assert main['shared'] == 'SHARED'
    assert {**main, **side}['only0'] == 'ZERO' and {**main, **side}['only1'] == 'ONE'


def test_retire_orphans_only_touches_missing_modules(tmp_path):
    from pylit.translate.cache import retire_orphans
    keep = TranslationCache(tmp_path, 'a/keep', 'zh')
    gone = TranslationCache(tmp_path, 'a/gone', 'zh')
    other_lang = TranslationCache(tmp_path, 'a/gone', 'ja')
    for c in (keep, gone, other_lang):
        c.sync(['k'])
        c.update({'k': 'K'})
    retired = retire_orphans(tmp_path, 'zh', {'a/keep'})
    assert [m for m, _ in retired] == ['a/gone']
    assert keep.path.exists() and other_lang.path.exists() and not gone.path.exists()
    assert gone.load_obsolete() == {'k': 'K'}
