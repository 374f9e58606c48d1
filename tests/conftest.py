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


# One Playwright driver and one Chromium for every browser test module: Playwright's sync API
# allows one driver at a time per thread, so a module's own `sync_playwright()` beside another
# module's session-long one fails ("Sync API inside the asyncio loop").
CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']


@pytest.fixture(scope='session')
def shared_chromium():
    """The session's headless Chromium (Debian's, through Playwright), shared by the browser tests."""
    if not CHROMIUM.exists():
        pytest.skip('/usr/bin/chromium is not installed (make browser installs it)')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
