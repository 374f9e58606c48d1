"""
# Find the modules to build

Each path on the command line is a file or a folder (searched for `*.py`). Paths are taken
relative to the source root (the current folder), and the output mirrors them:
`x/__init__.py` becomes `x/index.html` and `x/y.py` becomes `x/y.html`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Files beside the modules that are copied into the site as they are
ASSET_SUFFIXES = {'.svg', '.png', '.jpg', '.jpeg', '.gif', '.webp'}


class DiscoverError(Exception):
    pass


@dataclass(frozen=True)
class SourceFile:
    """A module to build: its path on disk, relative to the source root, and its page."""
    path: Path
    rel: str
    out: str

    @property
    def is_index(self) -> bool:
        return PurePosixPath(self.rel).name == '__init__.py'

    @property
    def folder(self) -> str:
        """The module's folder, relative to the source root (`''` at the root)."""
        parent = str(PurePosixPath(self.rel).parent)
        return '' if parent == '.' else parent


def output_path(rel: str) -> str:
    p = PurePosixPath(rel)
    if p.name == '__init__.py':
        return str(p.parent / 'index.html') if str(p.parent) != '.' else 'index.html'
    return str(p.with_suffix('.html'))


def _skip(path: Path) -> bool:
    return any(part.startswith('.') or part == '__pycache__' for part in path.parts)


def discover(paths: list[str], root: Path) -> tuple[list[SourceFile], list[tuple[Path, str]]]:
    """
    The modules under `paths`, sorted by their relative path, and the assets
    (`(path, relative path)`) found in the folders.
    """
    root = root.resolve()
    modules: dict[str, SourceFile] = {}
    assets: dict[str, Path] = {}

    def rel_of(p: Path) -> str:
        try:
            return p.resolve().relative_to(root).as_posix()
        except ValueError:
            raise DiscoverError(f'{p}: is outside the source root {root}; run pylit from the folder '
                                f'that contains every path') from None

    for arg in paths:
        p = Path(arg)
        if not p.exists():
            raise DiscoverError(f'{arg}: no such file or folder')
        if p.is_dir():
            for f in sorted(p.rglob('*')):
                if _skip(f.relative_to(p)) or not f.is_file():
                    continue
                if f.suffix == '.py':
                    rel = rel_of(f)
                    modules[rel] = SourceFile(f, rel, output_path(rel))
                elif f.suffix.lower() in ASSET_SUFFIXES:
                    assets[rel_of(f)] = f
        elif p.suffix == '.py':
            rel = rel_of(p)
            modules[rel] = SourceFile(p, rel, output_path(rel))
        elif p.suffix.lower() in ASSET_SUFFIXES:
            assets[rel_of(p)] = p
    return ([modules[k] for k in sorted(modules)],
            [(assets[k], k) for k in sorted(assets)])
