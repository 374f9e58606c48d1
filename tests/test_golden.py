"""
Golden test of a rendered page: the notes and code of every section of a fixture module.

After an intended change to the rendering, regenerate the expected file with
`PYLIT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pylit.build import BuildOptions, build

HERE = Path(__file__).parent / 'fixtures' / 'golden'


def sections_of(page: str) -> str:
    return '\n'.join(re.findall(r'<section class="section".*?</section>', page, re.S)) + '\n'


def test_rendered_page_matches_golden(tmp_path):
    cwd = os.getcwd()
    os.chdir(HERE / 'src')
    try:
        report = build(BuildOptions(out_dir=tmp_path, paths=('scaler.py',), root=Path('.'), jobs=1,
                                    title_md=True, remove_empty_sections=True))
    finally:
        os.chdir(cwd)
    assert report.errors == [] and report.warnings == []
    got = sections_of((tmp_path / 'scaler.html').read_text())
    expected_path = HERE / 'scaler.sections.html'
    if os.environ.get('PYLIT_UPDATE_GOLDEN'):
        expected_path.write_text(got)
    assert got == expected_path.read_text()
