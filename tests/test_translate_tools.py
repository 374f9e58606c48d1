"""The translator tools: `pylit translate status/sync/prune/export-po/import-po`."""

import json

import polib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pylit.translate.apply import validate
from pylit.translate.cache import TranslationCache, dumps
from pylit.translate.cli import main
from pylit.translate.po import _match_newlines, build_po, import_po
from pylit.translate.status import page_status

PAGE = '''"""
---
title: Warmup
summary: Raise the learning rate slowly at the start.
---

# Warmup

The rate grows linearly for `warmup` steps.
"""


def rate(step, warmup):
    # Linear ramp $\\frac{t}{w}$
    return min(1.0, step / warmup)
'''

OTHER = '''# Nothing but a comment
x = 1
'''

PH = '<span translate=no>_^_{}_^_</span>'.format


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'pkg' / 'sched').mkdir(parents=True)
    (tmp_path / 'pkg' / 'sched' / 'warmup.py').write_text(PAGE)
    (tmp_path / 'pkg' / 'other.py').write_text(OTHER)
    return tmp_path


def run(*args):
    return main([*args[:1], '--src', 'pkg', '--cache', 'tc', *args[1:]])


def read(path):
    return json.loads(path.read_text())


H1 = f'<h1>Warmup</h1>\n<p>The rate grows linearly for {PH(0)} steps.</p>\n'
RAMP = f'<p>Linear ramp {PH(0)} </p>\n'


def test_sync_creates_caches_with_identity_values(site):
    assert run('sync', '--lang', 'zh') == 0
    data = read(site / 'tc' / 'sched' / 'warmup.zh.json')
    assert data == {k: k for k in ['Warmup', 'Raise the learning rate slowly at the start.', H1, RAMP]}
    assert read(site / 'tc' / 'other.zh.json') == {'other.py': 'other.py',
                                                    '<p>Nothing but a comment </p>\n': '<p>Nothing but a comment </p>\n'}


def test_status_counts_and_suggestions(site, capsys):
    run('sync', '--lang', 'zh')
    cache = site / 'tc' / 'sched' / 'warmup.zh.json'
    data = read(cache)
    data['Warmup'] = '预热'
    data[H1] = f'<h1>预热</h1>\n<p>学习率在 {PH(0)} 步内线性增长。</p>\n'
    data[RAMP] = '<p>线性</p>\n'                      # placeholder missing: invalid
    cache.write_text(dumps(data))
    # the English of the first chunk changes: its translation becomes obsolete
    (site / 'pkg' / 'sched' / 'warmup.py').write_text(PAGE.replace('grows linearly', 'grows in a straight line'))
    capsys.readouterr()
    assert run('status', '--json') == 1           # an invalid translation makes it fail
    out = json.loads(capsys.readouterr().out)
    page = next(p for p in out['pages'] if p['module'] == 'sched/warmup')
    assert (page['total'], page['translated'], page['untranslated'], page['invalid'], page['obsolete']) == (4, 1, 2, 1, 1)
    assert page['cache_file'] == 'tc/sched/warmup.zh.json'
    (sug,) = page['suggestions']
    assert sug['obsolete_key'] == H1 and sug['translation'].startswith('<h1>预热</h1>')
    assert out['languages']['zh']['total'] == 6
    # the table
    assert run('status', '--lang', 'zh') == 1
    table = capsys.readouterr().out
    assert 'sched/warmup' in table and 'total (2 pages)' in table
    assert 'outdated: tc/sched/warmup.zh.json' in table
    assert 'invalid: tc/sched/warmup.zh.json' in table and 'missing placeholder _^_0_^_' in table


def test_status_read_only_and_reports_malformed_cache(site, capsys):
    run('sync', '--lang', 'zh')
    cache = site / 'tc' / 'other.zh.json'
    cache.write_text('{"a": 1}')
    assert run('status') == 1
    out = capsys.readouterr().out
    assert 'error: tc/other.zh.json:1:7:' in out
    assert cache.read_text() == '{"a": 1}'


def test_status_without_caches_needs_lang(site, capsys):
    assert run('status') == 2
    assert 'give --lang' in capsys.readouterr().err
    assert run('status', '--lang', 'ja') == 0


def test_sync_retires_deleted_module_and_prune_empties_sidecars(site, capsys):
    run('sync', '--lang', 'zh')
    c = TranslationCache(site / 'tc', 'other', 'zh')
    c.path.write_text(dumps({'other.py': '其他', 'x': 'x'}))
    (site / 'pkg' / 'other.py').unlink()
    assert run('sync', '--lang', 'zh') == 0
    assert not c.path.exists()
    assert read(c.obsolete_path) == {'other.py': '其他'}
    assert run('prune', '--lang', 'zh', '--dry-run') == 0
    assert c.obsolete_path.exists()
    assert run('prune', '--lang', 'ja') == 0
    assert c.obsolete_path.exists()
    assert run('prune', '--lang', 'zh') == 0
    assert not c.obsolete_path.exists()
    assert 'deleted 1 obsolete translations from tc/other.zh.obsolete.json' in capsys.readouterr().out


def test_page_status_share():
    st_ = page_status(['a', 'b', 'c', 'd'], {'a': 'A', 'b': 'b'}, {'z': 'Z'})
    assert (st_.translated, st_.untranslated, st_.invalid, st_.obsolete) == (1, 3, 0, 1)
    assert st_.share == 0.25


# ## PO export and import


def snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*.json'))}


def test_po_round_trip_is_lossless(site):
    run('sync', '--lang', 'zh')
    c = TranslationCache(site / 'tc', 'sched/warmup', 'zh')
    data = read(c.path)
    data['Warmup'] = '预热 "quoted" \\ back\tslash'
    data[H1] = f'<h1>预热</h1>\n<p>{PH(0)} 步。</p>\n'
    c.path.write_text(dumps(data))
    c.obsolete_path.write_text(dumps({'old\nkey': '旧的\n翻译'}))
    before = snapshot(site / 'tc')
    assert run('export-po', '--lang', 'zh', '--out', 'zh.po') == 0
    po = polib.pofile(str(site / 'zh.po'))
    assert po.metadata['Language'] == 'zh'
    entry = po.find(H1, msgctxt='sched/warmup')
    assert entry.msgstr.startswith('<h1>预热</h1>')
    assert po.find(RAMP, msgctxt='sched/warmup').msgstr == ''
    assert [e.msgid for e in po.obsolete_entries()] == ['old\nkey']
    assert run('import-po', 'zh.po') == 0
    assert snapshot(site / 'tc') == before
    # into an empty cache folder: the same files come out
    assert main(['import-po', 'zh.po', '--cache', 'fresh', '--no-sync']) == 0
    fresh = snapshot(site / 'fresh')
    assert fresh == before


def test_po_edits_come_back_and_empty_msgstr_never_erases(site, capsys):
    run('sync', '--lang', 'ja')
    c = TranslationCache(site / 'tc', 'sched/warmup', 'ja')
    data = read(c.path)
    data['Warmup'] = 'ウォームアップ'
    c.path.write_text(dumps(data))
    run('export-po', '--lang', 'ja', '--out', 'ja.po')
    po = polib.pofile('ja.po')
    po.find('Warmup', msgctxt='sched/warmup').msgstr = ''          # an old copy, say
    po.find(RAMP, msgctxt='sched/warmup').msgstr = f'<p>線形 {PH(0)}</p>\n'
    fuzzy = po.find(H1, msgctxt='sched/warmup')
    fuzzy.msgstr = f'<p>未完成 {PH(0)}</p>'
    fuzzy.flags.append('fuzzy')
    po.save('ja.po')
    capsys.readouterr()
    assert run('import-po', 'ja.po') == 0
    data = read(c.path)
    assert data['Warmup'] == 'ウォームアップ'
    assert data[RAMP] == f'<p>線形 {PH(0)}</p>\n'
    assert data[H1] == H1
    # the fuzzy entry is kept beside the cache, not used (issue 15)
    assert '1 fuzzy (kept, not used)' in capsys.readouterr().err
    assert read(c.fuzzy_path) == {H1: f'<p>未完成 {PH(0)}</p>'}


def test_po_import_of_stale_key_goes_to_sidecar(site):
    run('sync', '--lang', 'zh')
    po = build_po(site / 'tc', 'zh')
    po.append(polib.POEntry(msgctxt='sched/warmup', msgid='<p>gone</p>\n', msgstr='<p>没了</p>\n'))
    po.save(str(site / 'zh.po'))
    assert run('import-po', 'zh.po') == 0
    c = TranslationCache(site / 'tc', 'sched/warmup', 'zh')
    assert '<p>gone</p>\n' not in read(c.path)
    assert read(c.obsolete_path) == {'<p>gone</p>\n': '<p>没了</p>\n'}


@pytest.mark.parametrize('ctx', [None, '../../etc/x'])
def test_po_import_refuses_entries_without_a_safe_module(site, ctx, capsys):
    po = polib.POFile()
    po.metadata = {'Language': 'zh'}
    po.append(polib.POEntry(msgctxt=ctx, msgid='a', msgstr='b'))
    po.save(str(site / 'bad.po'))
    assert run('import-po', 'bad.po') == 1
    assert 'bad.po' in capsys.readouterr().err
    assert not (site / 'tc').exists()


def test_po_import_unreadable_file(site, capsys):
    (site / 'broken.po').write_text('msgid "a"\nmsgstr "unterminated\n')
    assert run('import-po', 'broken.po', '--lang', 'zh') == 1
    assert 'broken.po' in capsys.readouterr().err


text = st.text(alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters='\x00'),
               min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.dictionaries(text, st.one_of(text, st.just(None)), min_size=1, max_size=6),
       obsolete=st.dictionaries(text, text, max_size=3))
def test_po_round_trip_any_text(tmp_path_factory, entries, obsolete):
    root = tmp_path_factory.mktemp('po')
    main_entries = {k: (k if v is None else v) for k, v in entries.items()}
    obsolete = {k: v for k, v in obsolete.items() if k not in main_entries and v != k}
    c = TranslationCache(root / 'a', 'm/page', 'zh')
    c.path.parent.mkdir(parents=True)
    c.path.write_text(dumps(main_entries))
    if obsolete:
        c.obsolete_path.write_text(dumps(obsolete))
    build_po(root / 'a', 'zh').save(str(root / 'x.po'))
    import_po(polib.pofile(str(root / 'x.po')), root / 'b', 'zh')
    # Into an empty folder, only the newlines at the ends of a value may change: the export
    # makes them match the English, as `msgfmt -c` requires. A translation that `validate`
    # refuses (only blanks, a reserved character) is never written, and an untranslated entry
    # the export pre-filled from a similar obsolete one is fuzzy: it goes to the fuzzy file
    fuzzy = {e.msgid for e in polib.pofile(str(root / 'x.po')) if 'fuzzy' in e.flags and not e.obsolete}
    expect_main = {k: _match_newlines(k, v) for k, v in main_entries.items()
                   if (v == k and k not in fuzzy) or (v != k and validate(k, _match_newlines(k, v)) is None)}
    expect_side = {k: _match_newlines(k, v) for k, v in obsolete.items() if _match_newlines(k, v) not in ('', k)}
    b = TranslationCache(root / 'b', 'm/page', 'zh')
    assert b.load() == expect_main
    assert b.load_obsolete() == expect_side
    # Into the folder it came from, nothing changes
    before = snapshot(root / 'a')
    import_po(polib.pofile(str(root / 'x.po')), root / 'a', 'zh')
    assert snapshot(root / 'a') == before


def test_export_refuses_lone_surrogate_with_clear_error(site, capsys):
    (site / 'tc').mkdir()
    (site / 'tc' / 'x.zh.json').write_text('{\n "a": "\\ud800"\n}')
    assert run('export-po', '--lang', 'zh', '--no-sync', '--out', 'x.po') == 1
    err = capsys.readouterr().err
    assert 'tc/x.zh.json' in err and 'surrogate' in err
    assert not (site / 'x.po').exists()
