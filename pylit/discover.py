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


@dataclass(frozen=True)
class Problem:
    """A file discovery skips, with why: `level` is `warning` or `error`."""
    rel: str
    level: str
    message: str


@dataclass(frozen=True)
class Discovered:
    sources: tuple[SourceFile, ...]
    assets: tuple[tuple[Path, str], ...]
    problems: tuple[Problem, ...] = ()


def find_sources(paths: list[str], root: Path) -> Discovered:
    """
    The modules under `paths`, sorted by their relative path, the assets
    (`(path, relative path)`) found in the folders, and the files skipped:

    * a file (or a symlink to one) outside the source root is a warning for that file;
    * two modules that become the same page (`x/__init__.py` and `x/index.py`) are an error:
      the folder's `__init__.py` keeps the page.

    A path on the command line that does not exist, or lies outside the root, is a
    `DiscoverError`: nothing can be built from it.
    """
    root = root.resolve()
    modules: dict[str, SourceFile] = {}
    assets: dict[str, Path] = {}
    problems: list[Problem] = []

    def rel_of(p: Path, given: str | None = None) -> str | None:
        try:
            return p.resolve().relative_to(root).as_posix()
        except ValueError:
            if given is not None:
                raise DiscoverError(f'{given}: is outside the source root {root}; run pylit from the folder '
                                    f'that contains every path') from None
        except OSError as e:
            problems.append(Problem(p.as_posix(), 'warning', f'cannot read it ({e.strerror}); skipped'))
            return None
        problems.append(Problem(p.as_posix(), 'warning',
                                f'links to {p.resolve()}, outside the source root {root}; skipped '
                                f'(copy the file into the tree instead)'))
        return None

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
                    if rel is not None:
                        modules[rel] = SourceFile(f, rel, output_path(rel))
                elif f.suffix.lower() in ASSET_SUFFIXES:
                    rel = rel_of(f)
                    if rel is not None:
                        assets[rel] = f
        elif p.suffix == '.py':
            rel = rel_of(p, arg)
            modules[rel] = SourceFile(p, rel, output_path(rel))
        elif p.suffix.lower() in ASSET_SUFFIXES:
            assets[rel_of(p, arg)] = p
    by_out: dict[str, SourceFile] = {}
    for rel in sorted(modules, key=lambda r: (not r.endswith('__init__.py'), r)):
        src = modules[rel]
        other = by_out.get(src.out)
        if other is not None:
            problems.append(Problem(rel, 'error', f'becomes the page {src.out}, like {other.rel}; '
                                                  f'rename one of them (page skipped)'))
            del modules[rel]
        else:
            by_out[src.out] = src
    return Discovered(tuple(modules[k] for k in sorted(modules)),
                      tuple((assets[k], k) for k in sorted(assets)), tuple(problems))


def discover(paths: list[str], root: Path) -> tuple[list[SourceFile], list[tuple[Path, str]]]:
    """The modules and assets of `find_sources` (without the skipped files)."""
    found = find_sources(paths, root)
    return list(found.sources), list(found.assets)
