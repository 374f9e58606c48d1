"""
# Write files atomically

Every output file is written to a temporary file in the same folder and then renamed over the
target, so a reader (or a crashed build) never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, durable: bool = False) -> bool:
    """
    Write `data` to `path` atomically, keeping the file's permissions. Returns `False`, and
    writes nothing, when the file already holds exactly these bytes (so unchanged files keep
    their times). `durable` also flushes the data to disk before the rename (for files people
    edit by hand, such as translations).
    """
    raw = data.encode('utf-8') if isinstance(data, str) else data
    path = Path(path)
    try:
        if path.stat().st_size == len(raw) and path.read_bytes() == raw:
            return False
    except FileNotFoundError:
        pass
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
