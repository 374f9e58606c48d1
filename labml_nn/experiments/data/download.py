"""
---
title: Download once, with a checksum
summary: >
  Fetch a data file the first time it is needed, check its SHA-256, and keep it;
  nothing half-downloaded or wrong is ever left where the next run would use it.
---

# Download once, with a checksum

Experiments never download anything by default when the data is already on
disk, and tests never download at all. When a user does need a file (Tiny
Shakespeare, MNIST, CIFAR-10), we

* connect first, so that nothing is created when there is no network;
* write the bytes to a temporary file next to the destination, hashing them on
  the way;
* compare the SHA-256 with the one we know, and only then rename the file into
  place. A wrong or truncated download is deleted and reported in one line that
  says where to put the file by hand.

The known checksums are written next to each URL in the data modules, so a file
replaced on the server is noticed instead of silently used.
"""

import hashlib
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from labml_nn.experiments.errors import ExperimentError


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks"""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, dest: Path, sha256: str, what: str, timeout: float = 30.0, hint: str = ''):
    """
    ## Download `url` to `dest`

    * `sha256` is the expected checksum
    * `what` names the data in messages, `hint` adds how else to provide it
    """
    dest = Path(dest)
    where = f"download it yourself and save it as {dest.resolve()}" + (f", {hint}" if hint else '')
    tmp = dest.parent / f'.{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part'
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, 'xb') as f:
                while chunk := response.read(1 << 16):
                    f.write(chunk)
                    digest.update(chunk)
    except (urllib.error.URLError, OSError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        reason = getattr(e, 'reason', None) or e
        raise ExperimentError(f"could not download {what} from {url} ({reason}); {where}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != sha256:
        tmp.unlink()
        raise ExperimentError(f"the file downloaded from {url} has SHA-256 {digest.hexdigest()}, not the expected "
                              f"{sha256}; {where}")
    os.replace(tmp, dest)


def fetch(url: str, dest: Path, sha256: str, what: str, hint: str = '') -> Path:
    """
    ## The file, downloaded if missing

    A file already at `dest` is checked against `sha256` too: a damaged copy is
    reported, not used.
    """
    dest = Path(dest)
    if dest.is_file():
        actual = sha256_of(dest)
        if actual != sha256:
            raise ExperimentError(f"{dest} has SHA-256 {actual}, not the expected {sha256} of {what}; delete it to "
                                  f"download it again")
        return dest
    download(url, dest, sha256, what, hint=hint)
    return dest
