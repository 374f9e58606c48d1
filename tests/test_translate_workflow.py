"""
The translator's workflow never loses work and never misroutes it (issue 15): each test here
reproduces one fault of the issue.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import polib
import pytest

from pylit.languages import resolve, site_languages
from pylit.translate.cache import CacheError, TranslationCache, dumps, escaped_dumps, read_cache_file
from pylit.translate.cli import main
from test_translate_build import COMMENT, H1, HOME, MODULE, run as build_run

PH = '<span translate=no>_^_{}_^_</span>'.format

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


# $$x$$
y = 1
'''
H1W = f'<h1>Warmup</h1>\n<p>The rate grows linearly for {PH(0)} steps.</p>\n'
RAMP = f'<p>Linear ramp {PH(0)} </p>\n'
MATH_ONLY = f'<p>{PH(0)} </p>\n'


@pytest.fixture(scope='session')
def msgfmt():
    """GNU gettext's `msgfmt`; installed from Debian's `gettext` when missing, as `make test` does."""
    path = shutil.which('msgfmt')
    if path is None:
        script = Path(__file__).parent.parent / 'scripts' / 'install-gettext.sh'
        r = subprocess.run(['bash', str(script)], capture_output=True, text=True)
        path = shutil.which('msgfmt')
        if path is None:
            pytest.skip(f'msgfmt (Debian package gettext) is missing and could not be installed: '
                        f'{(r.stderr or r.stdout).strip()[-200:]}')
    return path


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'pkg' / 'sched').mkdir(parents=True)
    (tmp_path / 'pkg' / 'sched' / 'warmup.py').write_text(PAGE)
    return tmp_path


def tr(*args):
    return main([*args[:1], '--src', 'pkg', '--cache', 'tc', *args[1:]])


def cache(site, lang='zh'):
    return TranslationCache(site / 'tc', 'sched/warmup', lang)


def set_values(site, lang='zh', **_):
    c = cache(site, lang)
    data = c.load()
    data['Warmup'] = '预热'
    data[H1W] = f'<h1>预热</h1>\n<p>学习率在 {PH(0)} 步内线性增长。</p>\n'
    c.path.write_text(dumps(data), encoding='utf-8')
    return c


# ## Data loss

def test_invalid_po_translation_never_replaces_a_valid_one(site, capsys):
    tr('sync', '--lang', 'zh')
    c = set_values(site)
    po = polib.POFile()
    po.metadata = {'Language': 'zh', 'Content-Type': 'text/plain; charset=UTF-8'}
    po.append(polib.POEntry(msgctxt='sched/warmup', msgid=H1W, msgstr='<h1>预热</h1>\n<p>少了占位符</p>\n'))
    po.save('zh.po')
    capsys.readouterr()
    assert tr('import-po', 'zh.po') == 1
    err = capsys.readouterr().err
    assert 'zh.po:' in err and 'not imported: missing placeholder _^_0_^_' in err
    assert c.load()[H1W] == f'<h1>预热</h1>\n<p>学习率在 {PH(0)} 步内线性增长。</p>\n'


def test_fuzzy_entries_and_translator_comments_survive_import_and_export(site):
    tr('sync', '--lang', 'zh')
    po = polib.POFile()
    po.metadata = {'Language': 'zh', 'Content-Type': 'text/plain; charset=UTF-8'}
    e = polib.POEntry(msgctxt='sched/warmup', msgid=H1W, msgstr=f'<h1>预热</h1>\n<p>{PH(0)} 步</p>\n',
                      tcomment='check the word for warmup')
    e.flags.append('fuzzy')
    po.append(e)
    po.append(polib.POEntry(msgctxt='sched/warmup', msgid='Warmup', msgstr='预热', tcomment='a noun'))
    po.save('zh.po')
    assert tr('import-po', 'zh.po') == 0
    c = cache(site)
    assert c.load()[H1W] == H1W                          # fuzzy: not used by the build
    assert c.load_fuzzy() == {H1W: f'<h1>预热</h1>\n<p>{PH(0)} 步</p>\n'}
    assert c.load_comments() == {H1W: 'check the word for warmup', 'Warmup': 'a noun'}
    assert tr('export-po', '--lang', 'zh', '--out', 'again.po') == 0
    again = polib.pofile('again.po')
    entry = again.find(H1W, msgctxt='sched/warmup')
    assert 'fuzzy' in entry.flags and entry.msgstr.startswith('<h1>预热</h1>')
    assert entry.tcomment == 'check the word for warmup'
    assert again.find('Warmup', msgctxt='sched/warmup').tcomment == 'a noun'


# ## Misrouting

@pytest.mark.parametrize('header', ['zh_CN', 'zh_Hans', 'zh-CN'])
def test_po_locale_names_update_the_language(site, header):
    tr('sync', '--lang', 'zh')
    po = polib.POFile()
    po.metadata = {'Language': header, 'Content-Type': 'text/plain; charset=UTF-8'}
    po.append(polib.POEntry(msgctxt='sched/warmup', msgid='Warmup', msgstr='预热'))
    po.save('x.po')
    assert tr('import-po', 'x.po') == 0
    assert cache(site).load()['Warmup'] == '预热'
    assert sorted(p.name for p in (site / 'tc' / 'sched').iterdir()) == ['warmup.zh.json']


def test_unknown_language_says_did_you_mean(site, capsys):
    assert tr('sync', '--lang', 'cn') == 2
    assert 'did you mean zh?' in capsys.readouterr().err
    assert not (site / 'tc').exists()
    assert resolve('ja_JP').code == 'ja' and resolve('si_LK').code == 'si'


def test_po_entry_of_an_unknown_module_is_reported(site, capsys):
    tr('sync', '--lang', 'zh')
    po = polib.POFile()
    po.metadata = {'Language': 'zh', 'Content-Type': 'text/plain; charset=UTF-8'}
    po.append(polib.POEntry(msgctxt='sched/warmups', msgid='Warmup', msgstr='预热'))
    po.save('x.po')
    assert tr('import-po', 'x.po') == 1
    assert "no page 'sched/warmups' in the sources (did you mean sched/warmup?)" in capsys.readouterr().err
    assert not (site / 'tc' / 'sched' / 'warmups.zh.json').exists()


@pytest.mark.parametrize('name, expect', [
    ('sched/warmups.zh.json', "no page 'sched/warmups' in pkg (did you mean sched/warmup?)"),
    ('sched/Warmup.ja.json', "the module is 'sched/warmup', not 'sched/Warmup'"),
    ('sched/warmup.cn.json', "'cn' is not a language code of pylit/languages.py (did you mean zh?"),
    ('sched/warmup.zh.JSON', 'the extension must be .json in lower case'),
])
def test_misnamed_cache_files_are_listed(site, capsys, name, expect):
    tr('sync', '--lang', 'zh')
    (site / 'tc' / name).write_text('{}')
    capsys.readouterr()
    assert tr('status', '--lang', 'zh') == 1
    assert expect in capsys.readouterr().out


def test_duplicate_keys_are_an_error_with_their_line(tmp_path):
    p = tmp_path / 'm.zh.json'
    p.write_text('{\n "a": "甲",\n "b": "乙",\n "a": "丙"\n}', encoding='utf-8')
    with pytest.raises(CacheError) as e:
        read_cache_file(p)
    assert str(e.value).startswith(f'{p}:4:')
    assert "the key 'a' occurs more than once" in str(e.value)


# ## Crashes

def test_lone_surrogate_is_a_clear_error_and_the_build_goes_on(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache_dir = tmp_path / 'cache'
    cache_dir.mkdir()
    (cache_dir / 'scaler.zh.json').write_text('{\n "Input Scaler": "\\ud800"\n}')
    report = build_run(root, tmp_path / 'zh', 'zh', cache_dir)
    (err,) = report.errors
    assert 'lone surrogate' in err.message and err.line == 2
    assert (tmp_path / 'zh' / 'scaler.html').exists()


def test_deeply_nested_json_is_a_clear_error(site, write_tree, tmp_path, capsys):
    tr('sync', '--lang', 'zh')
    cache(site).path.write_text('[' * 100000 + ']' * 100000)
    capsys.readouterr()
    assert tr('status', '--lang', 'zh') == 1
    assert 'nested too deeply' in capsys.readouterr().out
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    (tmp_path / 'c').mkdir()
    (tmp_path / 'c' / 'scaler.zh.json').write_text('{"a": ' * 50000 + '1' + '}' * 50000)
    report = build_run(root, tmp_path / 'zh', 'zh', tmp_path / 'c')
    assert any('nested too deeply' in d.message for d in report.errors)


def _refuse_writes(monkeypatch):
    # Root can write into a read-only folder, so the refusal is simulated at the write call
    import pylit.translate.cache as cache_module

    def refuse(path, text, durable=False):
        raise PermissionError(13, 'Permission denied', str(path))
    monkeypatch.setattr(cache_module, '_write_atomic', refuse)


def test_read_only_cache_folder_does_not_abort_build_or_sync(write_tree, tmp_path, monkeypatch, capsys):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache_dir = tmp_path / 'cache'
    cache_dir.mkdir()
    (cache_dir / 'scaler.zh.json').write_text(dumps({'Input Scaler': '输入缩放器'}), encoding='utf-8')
    _refuse_writes(monkeypatch)
    report = build_run(root, tmp_path / 'zh', 'zh', cache_dir)
    assert report.errors == []
    assert any('cannot write the cache file' in d.message or 'Permission denied' in d.message
               for d in report.warnings)
    assert '输入缩放器' in (tmp_path / 'zh' / 'scaler.html').read_text()
    monkeypatch.chdir(tmp_path)
    assert main(['sync', '--src', str(root), '--cache', 'cache', '--lang', 'zh']) == 1
    err = capsys.readouterr().err
    assert 'cannot write the cache file: Permission denied' in err and 'Traceback' not in err


# ## Readability

def test_caches_are_written_as_readable_utf8_and_escaped_form_still_counts(site, capsys):
    tr('sync', '--lang', 'zh')
    c = set_values(site)
    data = c.load()
    # the escaped form of the reference tool: loads, counts as in sync, status is unchanged
    c.path.write_text(escaped_dumps(data), encoding='ascii')
    capsys.readouterr()
    assert tr('status', '--lang', 'zh', '--json') == 0
    page = json.loads(capsys.readouterr().out)['pages'][0]
    assert page['translated'] == 3 and page['untranslated'] == 2
    # the next sync writes it readably, with the same JSON value
    assert tr('sync', '--lang', 'zh') == 0
    text = c.path.read_text(encoding='utf-8')
    assert '预热' in text and '\\u' not in text
    assert json.loads(text) == data


# ## Preview churn

def test_preview_build_writes_no_cache(write_tree, tmp_path):
    root = write_tree({'__init__.py': HOME, 'scaler.py': MODULE})
    cache_dir = tmp_path / 'cache'
    build_run(root, tmp_path / 'zh', 'zh', cache_dir)
    c = cache_dir / 'scaler.zh.json'
    data = json.loads(c.read_text())
    data['Input Scaler'] = '输入缩放器'
    c.write_text(dumps(data), encoding='utf-8')
    before = {p: p.read_bytes() for p in cache_dir.rglob('*')}
    # the English is edited under `make serve`: a new chunk, a changed one
    (root / 'scaler.py').write_text(MODULE.replace('and add', 'then add') + '\n# A new note\nz = 2\n')
    report = build_run(root, tmp_path / 'zh', 'zh', cache_dir, write_caches=False)
    assert report.errors == []
    assert {p: p.read_bytes() for p in cache_dir.rglob('*')} == before
    page = (tmp_path / 'zh' / 'scaler.html').read_text()
    assert '输入缩放器' in page and 'A new note' in page


# ## Guidance

def test_status_shows_outdated_translation_next_to_new_english_and_accept_takes_it(site, capsys):
    tr('sync', '--lang', 'zh')
    set_values(site)
    (site / 'pkg' / 'sched' / 'warmup.py').write_text(PAGE.replace('grows linearly', 'grows in a line'))
    tr('sync', '--lang', 'zh')
    capsys.readouterr()
    tr('status', '--lang', 'zh')
    out = capsys.readouterr().out
    new = H1W.replace('grows linearly', 'grows in a line')
    assert 'outdated: tc/sched/warmup.zh.json' in out
    assert "new English:     '<h1>Warmup</h1>\\n<p>The rate grows in a line" in out
    assert "old English:     '<h1>Warmup</h1>\\n<p>The rate grows linearly" in out
    assert 'old translation:' in out and '学习率' in out
    assert 'pylit translate accept' in out
    assert tr('accept', '--lang', 'zh') == 0
    c = cache(site)
    assert c.load()[new] == f'<h1>预热</h1>\n<p>学习率在 {PH(0)} 步内线性增长。</p>\n'
    assert c.load_obsolete() == {}


def test_prune_keeps_suggestions_that_were_never_used(site, capsys):
    tr('sync', '--lang', 'zh')
    set_values(site)
    c = cache(site)
    side = {'<p>gone for good</p>\n': '<p>再也不用</p>\n'}
    c.obsolete_path.write_text(dumps(side), encoding='utf-8')
    (site / 'pkg' / 'sched' / 'warmup.py').write_text(PAGE.replace('grows linearly', 'grows in a line'))
    tr('sync', '--lang', 'zh')
    assert tr('prune', '--lang', 'zh') == 0
    assert list(c.load_obsolete()) == [H1W]          # still the suggestion for the edited chunk
    assert tr('prune', '--lang', 'zh', '--all') == 0
    assert not c.obsolete_path.exists()


def test_status_path_relative_to_src_and_json_lists_untranslated_keys(site, capsys):
    tr('sync', '--lang', 'zh')
    capsys.readouterr()
    assert tr('status', '--lang', 'zh', '--json', 'sched') == 0
    captured = capsys.readouterr()
    assert 'note: sched is read as pkg/sched' in captured.err
    page = json.loads(captured.out)['pages'][0]
    assert set(page['untranslated_keys']) == {'Warmup', 'Raise the learning rate slowly at the start.', H1W, RAMP}
    assert tr('status', '--lang', 'zh', 'sched/warmup') == 0
    assert tr('status', '--lang', 'zh', 'sched/warmpu') == 2
    assert 'did you mean sched/warmup?' in capsys.readouterr().err


def test_glossary_term_missing_from_a_translation_is_listed(site, capsys):
    tr('sync', '--lang', 'zh')
    set_values(site)
    (site / 'tc' / 'glossary.zh.yaml').write_text(
        'language: zh\nterms:\n- term: learning rate\n  translation: 学习率\n'
        '- term: step\n  translation: 步\n  check: false\n', encoding='utf-8')
    c = cache(site)
    data = c.load()
    data['Raise the learning rate slowly at the start.'] = '开始时慢慢提高速率。'
    c.path.write_text(dumps(data), encoding='utf-8')
    capsys.readouterr()
    assert tr('status', '--lang', 'zh') == 1
    out = capsys.readouterr().out
    assert ("glossary: tc/sched/warmup.zh.json: 'Raise the learning rate slowly at the start.': "
            "has the term 'learning rate' but its translation lacks '学习率'") in out
    data['Raise the learning rate slowly at the start.'] = '开始时慢慢提高学习率。'
    c.path.write_text(dumps(data), encoding='utf-8')
    assert tr('status', '--lang', 'zh') == 0


def test_site_languages_come_from_the_cache_folder(tmp_path):
    (tmp_path / 'a.si.json').write_text('{}')
    (tmp_path / 'a.zh.json').write_text('{}')
    assert [l.code for l in site_languages(tmp_path)] == ['en', 'zh', 'si']


# ## PO quality

def test_export_passes_msgfmt_and_tells_what_placeholders_stand_for(site, msgfmt):
    tr('sync', '--lang', 'zh')
    c = set_values(site)
    data = c.load()
    data[MATH_ONLY] = f'<p>{PH(0)}</p>'                 # a trailing newline moved: msgfmt -c rejects that
    data[RAMP] = f'\n<p>线性 {PH(0)}</p>\n'
    c.path.write_text(dumps(data), encoding='utf-8')
    (site / 'pkg' / 'sched' / 'warmup.py').write_text(PAGE.replace('grows linearly', 'grows in a line'))
    tr('sync', '--lang', 'zh')
    assert tr('export-po', '--lang', 'zh', '--out', 'zh.po') == 0
    r = subprocess.run([msgfmt, '-c', '-o', '/dev/null', 'zh.po'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    po = polib.pofile('zh.po')
    for field in ('PO-Revision-Date', 'Last-Translator', 'Language-Team', 'Plural-Forms'):
        assert po.metadata.get(field)
    ramp = po.find(RAMP, msgctxt='sched/warmup')
    assert ramp.occurrences == [('pkg/sched/warmup.py', '14')]
    assert '_^_0_^_ = formula: \\frac{t}{w}' in ramp.comment
    new = H1W.replace('grows linearly', 'grows in a line')
    entry = po.find(new, msgctxt='sched/warmup')
    assert 'fuzzy' in entry.flags and entry.msgstr.startswith('<h1>预热</h1>')
    assert entry.previous_msgid == H1W
    assert '_^_0_^_ = code: warmup' in entry.comment


@pytest.mark.parametrize('lang', [l.code for l in site_languages(Path(__file__).parent.parent / 'translate_cache')
                                  if l.code != 'en'])
def test_shipped_exports_pass_msgfmt(lang, tmp_path, msgfmt):
    repo = Path(__file__).parent.parent
    out = tmp_path / f'{lang}.po'
    assert main(['export-po', '--src', str(repo / 'labml_nn'), '--cache', str(repo / 'translate_cache'),
                 '--lang', lang, '--out', str(out), '--no-sync']) == 0
    r = subprocess.run([msgfmt, '-c', '-o', '/dev/null', str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_accept_takes_a_fuzzy_translation_from_a_po_file(site):
    tr('sync', '--lang', 'zh')
    po = polib.POFile()
    po.metadata = {'Language': 'zh', 'Content-Type': 'text/plain; charset=UTF-8'}
    e = polib.POEntry(msgctxt='sched/warmup', msgid='Warmup', msgstr='预热')
    e.flags.append('fuzzy')
    po.append(e)
    po.save('zh.po')
    assert tr('import-po', 'zh.po') == 0
    c = cache(site)
    assert c.load()['Warmup'] == 'Warmup' and c.load_fuzzy() == {'Warmup': '预热'}
    assert tr('accept', '--lang', 'zh', '--match', 'Warm') == 0
    assert c.load()['Warmup'] == '预热'
    assert not c.fuzzy_path.exists()


def test_status_names_a_hand_formatted_cache_and_sync_fixes_it(site, capsys):
    tr('sync', '--lang', 'zh')
    c = set_values(site)
    data = c.load()
    c.path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding='utf-8')
    capsys.readouterr()
    assert tr('status', '--lang', 'zh') == 0                 # it works as it is
    assert 'note: tc/sched/warmup.zh.json is not in the form pylit writes; run: pylit translate sync --lang zh' \
        in capsys.readouterr().out
    assert tr('sync', '--lang', 'zh') == 0
    assert c.path.read_text(encoding='utf-8') == dumps(data)
    assert tr('status', '--lang', 'zh') == 0
    assert 'not in the form' not in capsys.readouterr().out
