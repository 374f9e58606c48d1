r"""
---
title: The run folder and its lock
summary: >
  Everything a run writes goes into one folder, --out; a lock on it makes a
  second run into the same folder refuse instead of overwriting the first.
---

# The run folder and its lock

A run writes four things, all into the folder given with `--out`:

* `config.json`: the configuration it used (see [the rule on resume](config.html));
* `metrics.csv`: one row per logged step ([metrics](metrics.html));
* `checkpoint.pt`: the latest training state ([checkpoints](checkpoint.html));
* whatever the experiment saves (a plot, samples) through `run.path(name)`.

Nothing is written anywhere else, so deleting the folder deletes the run.

## Why a lock

Two runs started into the same folder would interleave their checkpoints and
metrics, and the last writer would win. Checking first whether the folder is
"in use" does not help: both runs can check before either writes. So the first
run takes an exclusive lock on the file `.lock` in the folder with
[`flock`](https://man7.org/linux/man-pages/man2/flock.2.html) and holds it
until it ends; the second run's attempt fails at once and it stops with one
line. The operating system releases the lock when the process ends in any way,
even when it is killed, so a crashed run never leaves a stale lock behind.

Only rank 0 of a [multi-process run](distributed.html) takes the lock.
"""

import errno
import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, IO, Optional

from labml_nn.experiments.errors import ExperimentError

CONFIG_NAME = 'config.json'
LOCK_NAME = '.lock'


def atomic_write(path: Path, write: Callable[[IO], None], binary: bool = False):
    """
    ## Write a file atomically

    `write(f)` fills a temporary file in the same folder, which then replaces
    `path` in one `os.replace`. Readers, and a crash, see either the old file or
    the new one, never a mixture.
    """
    path = Path(path)
    # A name no other writer uses; mode `x` refuses to open an existing file
    tmp = path.parent / f'.{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp'
    try:
        mode = 'xb' if binary else 'x'
        with open(tmp, mode, **({} if binary else {'encoding': 'utf-8', 'newline': ''})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class RunFolder:
    """
    ## The folder of one run
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock_file: Optional[IO] = None

    def open(self):
        """
        ### Create the folder and lock it

        Every problem is one line: `--out` is a file, the folder can't be created or
        written, or another run holds the lock.
        """
        import fcntl

        where = self.path
        if where.exists() and not where.is_dir():
            raise ExperimentError(f"--out {where} is a file, not a folder; pass the path of a folder "
                                  f"(it is created if missing)")
        try:
            where.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise ExperimentError(f"--out {where}: a part of that path is a file, not a folder; "
                                  f"pass another --out") from None
        except OSError as e:
            raise ExperimentError(f"can't create the run folder {where} ({e.strerror}); pass an --out you "
                                  f"can write to") from None
        try:
            f = open(where / LOCK_NAME, 'a+', encoding='utf-8')
        except OSError as e:
            raise ExperimentError(f"can't write into the run folder {where} ({e.strerror}); pass an --out you "
                                  f"can write to") from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            f.seek(0)
            holder = f.read().strip()
            f.close()
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ExperimentError(f"another run is using {where}{f' (process {holder})' if holder else ''}; "
                                      f"wait for it to finish, stop it, or pass another --out") from None
            raise ExperimentError(f"can't lock the run folder {where} ({e.strerror}); pass another --out") from None
        # Write our process id into the lock file, for the message above
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        # Check that we can really write files here (a read-only mount lets us open `.lock` if it existed)
        try:
            atomic_write(where / '.write-test', lambda g: g.write('ok'))
            (where / '.write-test').unlink()
        except OSError as e:
            f.close()
            raise ExperimentError(f"can't write into the run folder {where} ({e.strerror}); pass an --out you "
                                  f"can write to") from None
        self._lock_file = f

    def close(self):
        """Release the lock (the `.lock` file stays; it is empty of meaning without the lock)"""
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def file(self, name: str) -> Path:
        """The path of a file in the run folder"""
        return self.path / name

    def write_config(self, config: Dict[str, Any]):
        """Write `config.json`"""
        atomic_write(self.file(CONFIG_NAME), lambda f: f.write(json.dumps(config, indent=2) + '\n'))

    def read_config(self) -> Optional[Dict[str, Any]]:
        path = self.file(CONFIG_NAME)
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding='utf-8'))
