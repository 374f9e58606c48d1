"""Shared test helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / 'shared'


@pytest.fixture
def write_tree(tmp_path):
    """Write `{relative path: text}` under a fresh source folder and return the folder."""
    def make(files: dict[str, str], name: str = 'src') -> Path:
        root = tmp_path / name
        for rel, text in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding='utf-8')
        root.mkdir(exist_ok=True)
        return root
    return make


@pytest.fixture
def chdir():
    """Change the working folder for one test."""
    old = os.getcwd()

    def go(path):
        os.chdir(path)
    yield go
    os.chdir(old)
