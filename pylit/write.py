"""
# Write files atomically

Every output file is written to a temporary file in the same folder and then renamed over the
target, so a reader (or a crashed build) never sees half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

# The build's record of each output folder (`pylit.build`)
MANIFEST = '.pylit-manifest.json'


def holds(path: Path, raw: bytes) -> bool:
    """Whether the file `path` exists and holds exactly the bytes `raw`"""
    try:
        return path.stat().st_size == len(raw) and path.read_bytes() == raw
    except FileNotFoundError:
        return False


def write_atomic(path: Path, data: str | bytes, durable: bool = False) -> bool:
    """
    Write `data` to `path` atomically, keeping the file's permissions. Returns `False`, and
    writes nothing, when the file already holds exactly these bytes (so unchanged files keep
    their times). `durable` also flushes the data to disk before the rename (for files people
    edit by hand, such as translations).
    """
    raw = data.encode('utf-8') if isinstance(data, str) else data
    path = Path(path)
    if holds(path, raw):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(raw)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def link_atomic(existing: str | Path, path: str | Path, data: str | bytes) -> bool:
    """
    Make `path` hold `data`, which the file `existing` already holds, as a hard link to it
    (renamed into place like `write_atomic`'s files; creating a file costs far more than a
    link). A multi-language build uses it for the files every language has alike. Falls back
    to `write_atomic` where links cannot be made. Returns `False` when `path` already held
    exactly these bytes.
    """
    raw = data.encode('utf-8') if isinstance(data, str) else data
    path = Path(path)
    if holds(path, raw):
        return False
    import secrets
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f'.{path.name}.{secrets.token_hex(4)}.tmp'
    try:
        os.link(existing, tmp)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return write_atomic(path, raw)
    return True


def commit_staged(tmp: str | Path, path: str | Path) -> bool:
    """
    Rename a temporary file a render worker wrote (`pylit.render.stage`) over `path`, as
    `write_atomic` would have written it: the file's permissions are kept, and a file that
    already holds exactly these bytes is left alone (the temporary file is removed).
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    try:
        if st is not None:
            if st.st_size == os.path.getsize(tmp) and path.read_bytes() == Path(tmp).read_bytes():
                os.unlink(tmp)
                return False
            os.chmod(tmp, st.st_mode & 0o777)
        elif not hasattr(os, 'fchmod'):
            # (elsewhere a new file is 0o644 already: the worker made it so)
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


# The temporary files `write_atomic` makes: `.NAME.XXXXXXXX.tmp`
TEMP_RE = re.compile(r'^\..+\.[a-z0-9_]{8}\.tmp$')


def remove_stale_temps(folder: Path, marker: str | None = None) -> list[Path]:
    """
    Remove the temporary files an interrupted build (`kill -9` between write and rename) left
    in `folder`. Subfolders holding `marker` (another build's output root, such as a language's
    folder with its own manifest) are left to that build. Call it while holding `OutputLock`.
    """
    removed = []
    folder = Path(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        if marker:
            dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d / marker).exists()]
        for name in filenames:
            if TEMP_RE.match(name):
                p = Path(dirpath) / name
                try:
                    p.unlink()
                    removed.append(p)
                except FileNotFoundError:
                    pass
    return removed


class OutputLock:
    """
    An exclusive lock on an output folder (`.pylit-lock` in it) for the length of a build, so
    that two builds never write one folder at once and a build may remove stale temporary files.
    """

    NAME = '.pylit-lock'

    def __init__(self, folder: Path):
        self.path = Path(folder) / self.NAME
        self._fd = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:   # not POSIX: no lock
            return self
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
