"""
The site build, end to end on small trees written by the tests (real KaTeX, real templates).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


from pylit.build import BuildOptions, build

MODULE = '''"""
---
title: Input Scaler
summary: A tiny module that scales its input.
---

# Input Scaler

We scale by $\\alpha_1 * \\beta_2$ and see [the helper](helper.html#apply) and [home](../index.html).

\\begin{align}
y &= \\alpha x + b
\\end{align}
"""
import torch


class Scaler:
    """
    ## Scaler

    * `alpha` is $\\alpha$
    """

    def __init__(self, alpha):
        # Store   $\\alpha$
        self.alpha = alpha  # a comment in the code
'''

HELPER = '''"""
# Helper

$$\\sum_i x_i$$
"""


# ### Apply
def apply(x):
    """
    Returns `x`.
    """
    return x
'''

HOME = '''"""
---
title: Home
summary: The home page.
---

# Home

* [Scaler](pkg/scaler.html)
"""
'''


def tree(write_tree, **extra):
    files = {'__init__.py': HOME, 'pkg/__init__.py': '"""\n# Package\n"""\n',
             'pkg/scaler.py': MODULE, 'pkg/helper.py': HELPER}
    files.update(extra)
    return write_tree(files)


def run_build(root: Path, out: Path, **kw):
    opts = BuildOptions(out_dir=out, paths=tuple(sorted(os.listdir(root))), root=root, jobs=1, **kw)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return build(opts)
    finally:
        os.chdir(cwd)


def test_pages_mirror_sources_and_render(write_tree, tmp_path):
    root = tree(write_tree)
    report = run_build(root, tmp_path / 'out', title_md=True, site_url='https://example.org',
                       repo_url='https://git.example.org/repo/blob/main/labml_nn')
    assert report.errors == [] and report.warnings == []
    out = tmp_path / 'out'
    assert {p.relative_to(out).as_posix() for p in out.rglob('*.html')} == \
        {'index.html', 'pkg/index.html', 'pkg/scaler.html', 'pkg/helper.html'}
    page = (out / 'pkg/scaler.html').read_text()
    # Title, description, Open Graph and canonical
    assert '<title>Input Scaler</title>' in page
    assert '<meta name="description" content="A tiny module that scales its input.">' in page
    assert '<meta property="og:title" content="Input Scaler">' in page
    assert '<link rel="canonical" href="https://example.org/pkg/scaler.html">' in page
    assert 'href="https://git.example.org/repo/blob/main/labml_nn/pkg/scaler.py"' in page
    # Breadcrumbs to the home page and the folder's index
    assert '<a href="../index.html">Home</a>' in page and '<a href="index.html">Package</a>' in page
    # Math typeset by KaTeX with MathML, never turned into emphasis
    assert page.count('class="katex"') >= 3 and '<math' in page and 'katex-display' in page
    assert '<em>' not in page
    # The docstring is not in the code column; the code keeps its line numbers
    assert 'data-ln="15"' in page and 'Scaler</span>' in page
    assert 'a comment in the code' in page
    # KaTeX CSS and fonts are served from the site itself
    assert (out / 'static/katex/katex.min.css').exists()
    assert list((out / 'static/katex/fonts').glob('*.woff2'))
    assert 'https://' not in re.sub(r'(canonical|og:url|source-link|alternate)[^>]*>', '', page).split('<main', 1)[0].replace('https://example.org', '')


def test_title_falls_back_to_heading_or_file_name(write_tree, tmp_path):
    root = tree(write_tree)
    run_build(root, tmp_path / 'a', title_md=True)
    assert '<title>Helper</title>' in (tmp_path / 'a/pkg/helper.html').read_text()
    run_build(root, tmp_path / 'b', title_md=False)
    assert '<title>helper.py</title>' in (tmp_path / 'b/pkg/helper.html').read_text()


def test_katex_error_is_visible_and_warned(write_tree, tmp_path):
    root = tree(write_tree, **{'pkg/bad.py': '"""\n# Bad\n\nHere $\\foomacro{x}$ fails.\n"""\n'})
    report = run_build(root, tmp_path / 'out')
    warnings = [str(d) for d in report.warnings]
    assert any(w.startswith('pkg/bad.py:4: warning: KaTeX') for w in warnings), warnings
    page = (tmp_path / 'out/pkg/bad.html').read_text()
    assert 'class="math-error"' in page and '\\foomacro{x}' in page
    assert report.exit_status(strict=False) == 0 and report.exit_status(strict=True) == 1


def test_broken_links_are_warned(write_tree, tmp_path):
    root = tree(write_tree, **{'pkg/links.py': '"""\n# Links\n\n[a](helper.html#nope) [b](missing.html) [c](helper.html#apply) [d](https://x.org/y.html)\n"""\n'})
    report = run_build(root, tmp_path / 'out')
    messages = [str(d) for d in report.warnings]
    assert len(messages) == 2, messages
    assert any("pkg/links.py:4: warning: broken link 'helper.html#nope'" in m for m in messages)
    assert any("'missing.html'" in m for m in messages)


def test_syntax_error_skips_page_and_fails(write_tree, tmp_path):
    root = tree(write_tree, **{'pkg/broken.py': 'x = 1\n\ndef f(:\n    pass\n'})
    report = run_build(root, tmp_path / 'out')
    assert [str(e) for e in report.errors] == ['pkg/broken.py:3: error: syntax error: invalid syntax; page skipped']
    assert not (tmp_path / 'out/pkg/broken.html').exists()
    assert (tmp_path / 'out/pkg/scaler.html').exists()
    assert report.exit_status(strict=False) == 1


def test_build_is_deterministic(write_tree, tmp_path):
    root = tree(write_tree)
    run_build(root, tmp_path / 'a')
    run_build(root, tmp_path / 'b')
    files_a = sorted(p.relative_to(tmp_path / 'a') for p in (tmp_path / 'a').rglob('*') if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / 'b') for p in (tmp_path / 'b').rglob('*') if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / 'a' / rel).read_bytes() == (tmp_path / 'b' / rel).read_bytes(), rel


def test_incremental_rebuild(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'out'
    first = run_build(root, out)
    assert len(first.built) == 4
    again = run_build(root, out)
    assert again.built == [] and len(again.skipped) == 4
    (root / 'pkg/helper.py').write_text(HELPER + '\n# More\ny = 2\n')
    third = run_build(root, out)
    # The changed page and the home page (it lists every page) are rebuilt
    assert sorted(third.built) == ['__init__.py', 'pkg/helper.py']
    # A template change rebuilds everything
    tdir = tmp_path / 'templates'
    tdir.mkdir()
    from pylit.page import DEFAULT_TEMPLATES
    (tdir / 'page.html').write_text((DEFAULT_TEMPLATES / 'page.html').read_text() + '<!-- changed -->\n')
    fourth = run_build(root, out, template_dir=tdir)
    assert len(fourth.built) == 4
    assert (out / 'pkg/helper.html').read_text().endswith('<!-- changed -->\n')


def test_no_temporary_files_left(write_tree, tmp_path):
    root = tree(write_tree)
    run_build(root, tmp_path / 'out')
    assert not [p for p in (tmp_path / 'out').rglob('*.tmp')]


def test_remove_empty_sections(write_tree, tmp_path):
    src = '"""\n# T\n"""\n\n\n# Note\nx = 1\n'
    root = write_tree({'m.py': src})
    run_build(root, tmp_path / 'keep')
    run_build(root, tmp_path / 'drop', remove_empty_sections=True)
    keep = (tmp_path / 'keep/m.html').read_text().count('<section class="section"')
    drop = (tmp_path / 'drop/m.html').read_text().count('<section class="section"')
    assert drop == keep - 1


def test_cli_with_shell_glob(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'site'
    proc = subprocess.run(f'{sys.executable} -m pylit --title_md --strict -d {out} *', shell=True,
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (out / 'index.html').exists() and (out / 'pkg/index.html').exists()
    assert 'pylit: 4 pages built' in proc.stderr


def test_cli_strict_fails_on_warning(write_tree, tmp_path):
    root = tree(write_tree, **{'pkg/links.py': '"""\n[x](nowhere.html)\n"""\n'})
    proc = subprocess.run([sys.executable, '-m', 'pylit', '--strict', '-d', str(tmp_path / 'o'), '.'],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "pkg/links.py:2: warning: broken link 'nowhere.html'" in proc.stderr


def test_cli_missing_path(tmp_path):
    proc = subprocess.run([sys.executable, '-m', 'pylit', '-d', str(tmp_path / 'o'), 'nope.py'],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip() == 'pylit: error: nope.py: no such file or folder'


def test_deleted_module_removes_its_page(write_tree, tmp_path):
    root = tree(write_tree)
    out = tmp_path / 'out'
    run_build(root, out)
    (root / 'pkg/helper.py').unlink()
    report = run_build(root, out)
    assert report.removed == ['pkg/helper.py']
    assert not (out / 'pkg/helper.html').exists()
    # The scaler page linked to it: that is now a broken link
    assert any('helper.html' in str(w) for w in report.warnings)
