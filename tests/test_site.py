"""
The real site: every module of `labml_nn/` builds without a warning, compiles cleanly, and the
model and optimizer modules import only torch (so a reader can copy one into a notebook).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import warnings


import pytest

from conftest import REPO

SOURCES = REPO / 'labml_nn'
MODULES = sorted(SOURCES.rglob('*.py'))
# Modules a reader copies on their own: torch, the standard library and each other only.
# That is every tutorial module; the experiments (the harness, each chapter's experiment and
# benchmark scripts, and the environment wrapper they share) own plotting, data sets and environments.
EXPERIMENT_MODULES = {'experiment.py', 'benchmark.py', 'compare_optimizers.py', 'cartpole.py'}
STANDALONE = [p for p in MODULES
              if p.relative_to(SOURCES).parts[0] != 'experiments' and p.name not in EXPERIMENT_MODULES]
ALLOWED = {'torch', 'labml_nn'} | set(sys.stdlib_module_names)


@pytest.mark.parametrize('path', MODULES, ids=lambda p: str(p.relative_to(SOURCES)))
def test_module_compiles_without_warnings(path):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        compile(path.read_text(encoding='utf-8'), str(path), 'exec')


@pytest.mark.parametrize('path', STANDALONE, ids=lambda p: str(p.relative_to(SOURCES)))
def test_model_and_optimizer_modules_import_only_torch(path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ''] if node.level == 0 else ['labml_nn']
        else:
            continue
        for name in names:
            assert name.split('.')[0] in ALLOWED, f'{path.name} imports {name}'


@pytest.mark.parametrize('path', MODULES, ids=lambda p: str(p.relative_to(SOURCES)))
def test_module_has_front_matter(path):
    from pylit.parse import decode_source, parse_module
    module = parse_module(decode_source(path.read_bytes()))
    if path.name == '__init__.py' and not module.sections:
        return
    assert module.title, f'{path}: front matter has no title'
    assert module.summary, f'{path}: front matter has no summary'


def test_whole_site_builds_strict(tmp_path):
    proc = subprocess.run(f'{sys.executable} -m pylit --remove_empty_sections --title_md --strict '
                          f'--languages en --site_url http://127.0.0.1:8000 -d {tmp_path / "docs"} *',
                          shell=True, cwd=SOURCES, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / 'docs/index.html').exists()
    assert (tmp_path / 'docs/optimizers/sophia.html').exists()
    # The home page's years are the papers' (first arXiv version or publication), also where the
    # page's first arXiv link is another paper (RMSNorm, multi-head attention, Muon) or the paper
    # is not on arXiv in its year (AMSGrad: ICLR 2018, on arXiv in 2019; Kuhn poker: 1950).
    home = (tmp_path / 'docs/index.html').read_text(encoding='utf-8')
    years = dict(re.findall(r'<a href="([^"]+)">[^<]*</a> <span class="year">(\d+)</span>', home))
    assert {page: years.get(page) for page in HOME_YEARS} == HOME_YEARS
    # A chapter that is one paper carries its year in its own front matter.
    from pylit.parse import decode_source, parse_module
    for rel, year in {'lstm/__init__.py': 1997, 'cfr/__init__.py': 2007}.items():
        assert parse_module(decode_source((SOURCES / rel).read_bytes())).year == year, rel


HOME_YEARS = {'optimizers/adam.html': '2014', 'optimizers/amsgrad.html': '2018',
              'optimizers/muon.html': '2024', 'normalization/rms_norm.html': '2019',
              'transformers/mha.html': '2017', 'cfr/kuhn.html': '1950'}
