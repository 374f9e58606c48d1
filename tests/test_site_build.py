"""
The site at a hundred papers: one build for every language, its stages alone on in-memory data,
the navigation (chapter contents, previous/next, the home page by chapter), notebooks,
citations and "report a problem" links.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from pylit.page import html_lang

import pylit.build
from pylit.build import BuildOptions, PageRecord, build, check_links
from pylit.nav import Entry, chapter_nav, chapters, home_groups

REPO = Path(__file__).resolve().parent.parent

HOME = '"""\n---\ntitle: Home\nsummary: Home page.\n---\n\n# Home\n\n* [Optimizers](opt/index.html)\n"""\n'
OPT = ('"""\n---\ntitle: Optimizers\nsummary: Every optimizer.\n---\n\n# Optimizers\n\n'
       '* [Sophia](sophia.html)\n* [Adam](adam.html)\n"""\n')
ADAM = '''"""
---
title: Adam
summary: Adaptive moments.
---

# Adam

From [the paper](https://arxiv.org/abs/1412.6980): $m_t = \\beta_1 m_{t-1}$.
"""
import math


class Adam:
    """
    ## The optimizer

    It keeps $m$ and $v$.
    """

    def __init__(self, lr=0.1):
        # The learning rate $\\eta$
        self.lr = lr

    def step(self, g):
        # One step
        return -self.lr * g


# Check it
assert Adam(0.5).step(2.0) == -1.0
'''
SOPHIA = ('"""\n---\ntitle: Sophia\nsummary: Clipped Newton steps.\nyear: 2023\nnotebook: run\n'
          'bibtex: |\n  @article{liu2023sophia,\n    title={Sophia & friends},\n    year={2023}\n  }\n---\n\n'
          '# Sophia\n\nClip $\\rho$.\n"""\n\nx = 1 + 1\nprint(x)\n')
MISC = '"""\n---\ntitle: Loose\nsummary: Loose notes.\n---\n\n# Loose\n"""\ny = 2\n'


def tree(write_tree):
    return write_tree({'__init__.py': HOME, 'opt/__init__.py': OPT, 'opt/adam.py': ADAM,
                       'opt/sophia.py': SOPHIA, 'misc/loose.py': MISC})


def run(root: Path, out: Path, **kw):
    opts = BuildOptions(out_dir=out, paths=tuple(sorted(os.listdir(root))), root=root, jobs=1,
                        title_md=True, **kw)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return build(opts)
    finally:
        os.chdir(cwd)


def sections(html: str) -> str:
    found = ''.join(re.findall(r'<section class="section".*?</section>', html, re.S))
    return re.sub(r'<a class="(anchor|report-issue)"[^>]*>[^<]*</a>', '', found)


# ## One build for every language

def test_one_build_writes_every_language_parsing_and_typesetting_once(write_tree, tmp_path, monkeypatch):
    root = tree(write_tree)
    cache = tmp_path / 'cache'
    parsed, typeset = [], []
    real_parse = pylit.build.parse_module
    monkeypatch.setattr(pylit.build, 'parse_module', lambda text: parsed.append(text) or real_parse(text))
    from pylit.mathrender import KatexPool
    real_render = KatexPool.render
    monkeypatch.setattr(KatexPool, 'render', lambda self, f: typeset.extend(f) or real_render(self, f))
    out = tmp_path / 'docs'
    report = run(root, out, languages=('en', 'zh', 'ja'), translate_cache=cache, site_url='https://example.org')
    assert report.errors == [] and report.warnings == []
    assert len(parsed) == 5 and len(typeset) == len(set(typeset)) == report.formulas > 0
    for lang, folder in (('en', out), ('zh', out / 'zh'), ('ja', out / 'ja')):
        page = (folder / 'opt/adam.html').read_text()
        assert f'<html lang="{html_lang(lang)}">' in page
        assert (folder / '.pylit-manifest.json').exists()
    assert report.built_by_lang == {lang: ['__init__.py', 'misc/loose.py', 'opt/__init__.py', 'opt/adam.py', 'opt/sophia.py']
                                    for lang in ('en', 'zh', 'ja')}
    # The caches were created; the translated pages say which language they are in
    assert (cache / 'opt/adam.zh.json').exists() and (cache / 'opt/adam.ja.json').exists()
    assert '<link rel="canonical" href="https://example.org/ja/opt/adam.html">' in (out / 'ja/opt/adam.html').read_text()
    # The same pages as a separate build of one language (`--translate zh`)
    from pylit.translate.site import TranslatorFactory
    alone = BuildOptions(out_dir=tmp_path / 'zh_alone', paths=tuple(sorted(os.listdir(root))), root=root, jobs=1,
                         title_md=True, lang='zh', languages=('en', 'zh', 'ja'), translate_cache=cache,
                         site_url='https://example.org')
    cwd = os.getcwd()
    os.chdir(root)
    try:
        build(alone, TranslatorFactory)
    finally:
        os.chdir(cwd)
    for page in ('opt/adam.html', 'opt/sophia.html', 'index.html'):
        assert sections((out / 'zh' / page).read_text()) == sections((tmp_path / 'zh_alone' / page).read_text())
    # Nothing changed: nothing is rebuilt, and no cache is touched
    caches = {p: p.read_bytes() for p in cache.rglob('*.json')}
    parsed.clear()
    again = run(root, out, languages=('en', 'zh', 'ja'), translate_cache=cache, site_url='https://example.org')
    assert again.built == [] and len(again.skipped) == 5 and parsed == []
    assert {p: p.read_bytes() for p in cache.rglob('*.json')} == caches
    # A translation edited: only that language's page (and its home page) is rebuilt
    data = json.loads((cache / 'opt/adam.ja.json').read_text())
    data['Adaptive moments.'] = '適応的モーメント。'
    (cache / 'opt/adam.ja.json').write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True))
    third = run(root, out, languages=('en', 'zh', 'ja'), translate_cache=cache, site_url='https://example.org')
    assert third.built_by_lang == {'en': [], 'zh': [], 'ja': ['__init__.py', 'opt/__init__.py', 'opt/adam.py', 'opt/sophia.py']}
    assert '適応的モーメント。' in (out / 'ja/index.html').read_text()


def test_one_edited_module_rebuilds_its_pages_its_chapter_and_home(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'docs'
    run(root, out)
    # Only the code changed: the page and the home page
    (root / 'opt/adam.py').write_text(ADAM + '\nz = 3\n')
    assert run(root, out).built == ['__init__.py', 'opt/adam.py']
    # Its title changed: the chapter's pages show it in their contents
    (root / 'opt/adam.py').write_text(ADAM.replace('title: Adam', 'title: Adam (2014)'))
    assert run(root, out).built == ['__init__.py', 'opt/__init__.py', 'opt/adam.py', 'opt/sophia.py']
    assert '>Adam (2014)</a>' in (out / 'opt/sophia.html').read_text()
    assert run(root, out).built == []


# ## Navigation

def test_chapter_contents_previous_next_and_home_by_chapter(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'docs'
    run(root, out, languages=('en', 'zh'), translate_cache=tmp_path / 'cache')
    adam = (out / 'opt/adam.html').read_text()
    nav = re.search(r'<nav class="chapter-nav".*?</nav>', adam, re.S).group(0)
    # The chapter map's reading order: Sophia first, then Adam
    assert nav.index('>Sophia</a>') < nav.index('>Adam</a>')
    assert '<a href="adam.html" aria-current="page">Adam</a> <span class="year">2014</span>' in nav
    assert '<a class="chapter-nav-title" href="index.html">Optimizers</a>' in nav
    assert '<a class="pager-prev" rel="prev" href="sophia.html">' in adam and 'rel="next"' not in adam
    sophia = (out / 'opt/sophia.html').read_text()
    assert 'rel="prev" href="index.html"' in sophia and 'rel="next" href="adam.html"' in sophia
    index = (out / 'opt/index.html').read_text()
    assert 'rel="next" href="sophia.html"' in index and 'rel="prev"' not in index
    home = (out / 'index.html').read_text()
    assert 'class="chapter-nav"' not in home
    listing = re.search(r'<nav class="site-index".*?</nav>', home, re.S).group(0)
    assert '<h3 class="index-title"><a href="opt/index.html">Optimizers</a></h3>' in listing
    assert '<a href="opt/sophia.html">Sophia</a> <span class="year">2023</span><p class="summary">Clipped Newton steps.</p>' in listing
    assert '<a href="opt/adam.html">Adam</a> <span class="year">2014</span>' in listing
    assert '<h3 class="index-title">Misc</h3>' in listing and 'Loose notes.' in listing
    # The chapter comes in the home map's order, before the folder it does not mention
    assert listing.index('Optimizers') < listing.index('Misc')
    # In every language, with its words
    zh = (out / 'zh/opt/adam.html').read_text()
    assert '<span class="pager-dir">上一页</span>' in zh and 'aria-current="page">Adam</a>' in zh
    assert 'class="site-index"' in (out / 'zh/index.html').read_text()


def test_navigation_stage_on_data_in_memory():
    entries = {r: Entry(r, o, t, s, y) for r, o, t, s, y in [
        ('__init__.py', 'index.html', 'Home', None, None),
        ('a/__init__.py', 'a/index.html', 'A', 'Chapter A.', None),
        ('a/x.py', 'a/x.html', 'X', 'Page x.', 2017),
        ('a/y y.py', 'a/y y.html', 'Y', None, None),
        ('a/b/__init__.py', 'a/b/index.html', 'B', None, None),
        ('a/b/z.py', 'a/b/z.html', 'Z', None, 2020)]}
    outs = {r: e.out for r, e in entries.items()}
    cmap = chapters(list(entries), {'a/__init__.py': '[B](b/) [Y](y%20y.html)'}, outs)
    assert cmap == {'': ('a/__init__.py',), 'a': ('a/b/__init__.py', 'a/x.py', 'a/y y.py'), 'a/b': ('a/b/z.py',)}
    nav = chapter_nav('a/x.py', 'a/x.html', cmap, entries)
    assert [i['title'] for i in nav['items']] == ['B', 'X', 'Y']
    assert nav['prev']['href'] == 'b/index.html' and nav['next']['href'] == 'y%20y.html'
    assert chapter_nav('__init__.py', 'index.html', cmap, entries) is None
    groups = home_groups('index.html', cmap, entries)
    assert [(g['title'], [p['title'] for p in g['pages']]) for g in groups] == [('A', ['X', 'Y']), ('B', ['Z'])]
    assert groups[0]['pages'][0]['year'] == 2017


def test_check_stage_on_data_in_memory(tmp_path):
    pages = {'a.py': PageRecord(key='', out='a.html', title='A', summary=None, anchors=['s'], warnings=[],
                                links=[('b%20c.html#s', 3), ('b%20c.html#nope', 4), ('gone.html', 5)]),
             'b c.py': PageRecord(key='', out='b c.html', title='B', summary=None, anchors=['s'], links=[], warnings=[])}
    found = [str(d) for d in check_links(pages, tmp_path)]
    assert found == ["a.py:4: warning: broken link 'b%20c.html#nope': b c.html has no anchor #nope",
                     "a.py:5: warning: broken link 'gone.html': no page gone.html was built"]


def test_render_stage_on_data_in_memory():
    from pylit.discover import SourceFile
    from pylit.parse import parse_module
    from pylit.render import PageTask, render_page
    module = parse_module(SOPHIA)
    task = PageTask(src=SourceFile(Path('opt/sophia.py'), 'opt/sophia.py', 'opt/sophia.html'), lang='en',
                    text=SOPHIA, module=module, title='Sophia', summary='S.', breadcrumbs=(('Home', '../index.html'),),
                    math={('\\rho', False): ('<span class="katex">rho</span>', None)},
                    site={'remove_empty_sections': True, 'repo_url': None, 'site_url': None, 'lang': 'en',
                          'languages': [], 'issues_url': None},
                    notebook='sophia.ipynb', make_notebook=True)
    page = render_page(task)
    assert '<span class="katex">rho</span>' in page.html and page.warnings == ()
    assert 'href="sophia.ipynb"' in page.html
    assert json.loads(page.notebook)['nbformat'] == 4


def test_math_stage_on_data_in_memory():
    from pylit.build import Navigation, Parsed, Plan, math
    from pylit.mathrender import find_node_modules
    from pylit.parse import parse_module
    from pylit.build import Target
    opts = BuildOptions(out_dir=Path('/nonexistent'), paths=())
    p = Plan(opts=opts, sources=(), assets=(), raw={}, targets=(Target('en', Path('/nonexistent')),),
             salts={}, previous={'en': {}}, own_keys={'en': {}}, own_stale={'en': frozenset()},
             node_modules=find_node_modules(REPO))
    mods = {'a.py': parse_module('"""\n$x^2$ and $$x^2$$ and $\\nope$\n"""\n'), 'b.py': parse_module('# $x^2$\n')}
    parsed = Parsed(mods, {}, {}, {})
    nav = Navigation({}, {}, {}, {}, {'en': ('a.py', 'b.py')})
    result = math(p, parsed, nav)
    assert result.count == 3
    assert result.rendered[('x^2', False)][0].startswith('<span class="katex">')
    assert [str(d) for d in result.diagnostics] == [
        "a.py:2: warning: KaTeX cannot render '\\\\nope': Undefined control sequence: \\nope at position 1; fix the TeX"]


# ## Notebooks, citations, report links

def test_notebooks_beside_the_pages(write_tree, tmp_path):
    import nbformat
    root = tree(write_tree)
    out = tmp_path / 'docs'
    run(root, out, languages=('en', 'zh'), translate_cache=tmp_path / 'cache')
    nb = nbformat.read(out / 'opt/adam.ipynb', as_version=4)
    nbformat.validate(nb)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[0] == 'markdown' and nb.cells[0].source.startswith('# Adam') and '$m_t = \\beta_1 m_{t-1}$' in nb.cells[0].source
    assert 'code' in kinds
    code = '\n'.join(c.source for c in nb.cells if c.cell_type == 'code')
    # Notes inside the class are comments, so that each cell is whole statements
    assert '    # The learning rate $\\eta$\n        self.lr = lr' in code or '        # The learning rate $\\eta$\n        self.lr = lr' in code
    compile(code, 'adam.ipynb', 'exec')
    for c in nb.cells:
        if c.cell_type == 'code':
            compile(c.source, 'cell', 'exec')
    assert 'href="adam.ipynb" download' in (out / 'opt/adam.html').read_text()
    # The translated page links to the English notebook; chapter maps have none
    assert 'href="../../opt/adam.ipynb" download' in (out / 'zh/opt/adam.html').read_text()
    assert not (out / 'zh/opt/adam.ipynb').exists() and not (out / 'opt/index.ipynb').exists()
    assert 'notebook-link' not in (out / 'opt/index.html').read_text()
    # A deleted module takes its notebook with it
    (root / 'opt/adam.py').unlink()
    run(root, out, languages=('en', 'zh'), translate_cache=tmp_path / 'cache')
    assert not (out / 'opt/adam.ipynb').exists()


def _execute(path: Path, cwd: Path):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': str(cwd)}}).execute()
    return nb


def test_notebooks_of_fast_modules_run(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'docs'
    run(root, out)
    nb = _execute(out / 'opt/sophia.ipynb', root)
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs]
    assert outputs and outputs[-1]['text'] == '2\n'


def _run_notebook_modules() -> list[str]:
    """The modules of the site that declare in front matter that their notebook runs in seconds."""
    from pylit.parse import decode_source, parse_module
    found = []
    for p in sorted((REPO / 'labml_nn').rglob('*.py')):
        if b'notebook:' not in p.read_bytes():
            continue
        module = parse_module(decode_source(p.read_bytes()))
        if str(module.front_matter.get('notebook', '')).strip() == 'run':
            found.append(p.relative_to(REPO / 'labml_nn').as_posix())
    return found


@pytest.mark.slow
@pytest.mark.parametrize('rel', _run_notebook_modules())
def test_notebooks_of_the_site_run(rel, tmp_path):
    from pylit.notebook import make_notebook
    from pylit.parse import decode_source, parse_module
    module = parse_module(decode_source((REPO / 'labml_nn' / rel).read_bytes()))
    path = tmp_path / 'nb.ipynb'
    path.write_text(make_notebook(module, module.title))
    nb = _execute(path, REPO)
    assert not [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs if o.get('output_type') == 'error']


def test_citation_and_report_links(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'docs'
    run(root, out, repo_url='https://github.com/o/r/blob/main/src', site_url='https://example.org')
    sophia = (out / 'opt/sophia.html').read_text()
    assert '<pre class="bibtex"><code>@article{liu2023sophia,\n  title={Sophia &amp; friends},' in sophia
    links = re.findall(r'<a class="report-issue" href="([^"]+)"', sophia)
    assert len(links) == len(re.findall(r'<section class="section"', sophia)) > 0
    from html import unescape
    from urllib.parse import parse_qs, urlsplit
    url = urlsplit(unescape(links[0]))
    assert (url.scheme, url.netloc, url.path) == ('https', 'github.com', '/o/r/issues/new')
    q = parse_qs(url.query)
    assert q['title'] == ['Sophia: section-0']
    assert 'Page: https://example.org/opt/sophia.html#section-0' in q['body'][0]
    assert 'Source: opt/sophia.py#L14-L16' in q['body'][0]
    assert 'class="citation"' not in (out / 'opt/adam.html').read_text()
    # An explicit tracker; and without either, no link
    run(root, tmp_path / 'b', issues_url='https://tracker.example.org/p/issues')
    assert 'href="https://tracker.example.org/p/issues/new?title=' in (tmp_path / 'b/opt/sophia.html').read_text()
    run(root, tmp_path / 'c')
    assert 'report-issue' not in (tmp_path / 'c/opt/sophia.html').read_text()
