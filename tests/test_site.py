"""
The real site: every module of `labml_nn/` builds without a warning, compiles cleanly, and the
model and optimizer modules import only torch (so a reader can copy one into a notebook).
"""

from __future__ import annotations

import ast
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
