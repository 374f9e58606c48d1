"""
---
title: Checkpoints that are whole or refused
summary: >
  The training state saved atomically, with a format version and a SHA-256 of
  its contents, so that a truncated or corrupted checkpoint is refused at load
  instead of resuming from garbage.
---

# Checkpoints that are whole or refused

A checkpoint holds everything a run needs to continue exactly where it
stopped: the step, the configuration, the `state_dict()` of every tracked
object (model, optimizer, learning-rate scheduler, data sampler), the random
states of every process, and the state of [`metrics.csv`](metrics.html).

Two things can go wrong with a file on disk, and each has its guard:

* **A crash while writing.** We write to a temporary file and rename it over the
  old checkpoint in one step ([`atomic_write`](run_folder.html)), so the file is
  always either the previous checkpoint or the new one.
* **Damage after writing** (a disk or a copy that truncates the file or flips a
  bit). A truncated file usually fails to open at all. A flipped bit inside a
  tensor does not: `torch.load` would happily return a weight that is now
  $10^{38}$ or `nan`, and the run would die many steps later, far from the cause.
  So we store a SHA-256 digest of the contents (every tensor's bytes, with its
  dtype and shape, and every other value) next to them, and recompute it at load.

A checkpoint that fails either check is refused with one line and left exactly
as it is: it may be the only copy of a long run, and the user decides what to
do with it.

`FORMAT` is the version of the layout; a checkpoint of another version is
refused instead of being misread.
"""

import hashlib
from pathlib import Path
from typing import Any, Dict

import torch

from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.run_folder import atomic_write

CHECKPOINT_NAME = 'checkpoint.pt'
# The version of the checkpoint layout; bumped whenever it changes
FORMAT = 2


def digest(state: Any) -> str:
    """
    ## The SHA-256 of a state

    We walk the nested dictionaries, lists and tuples in their order and feed
    the hash a tag for each container, each key, and each leaf: a tensor as its
    dtype, shape and raw bytes, anything else as its `repr`. Any change to any of
    them changes the digest.
    """
    h = hashlib.sha256()
    _feed(h, state)
    return h.hexdigest()


def _feed(h: 'hashlib._Hash', value: Any):
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f'T{t.dtype}{tuple(t.shape)}'.encode())
        if t.numel():
            # The raw bytes, whatever the dtype (`bfloat16` has no NumPy equivalent, `uint8` has)
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    elif isinstance(value, dict):
        h.update(f'D{len(value)}'.encode())
        for k, v in value.items():
            h.update(f'K{k!r}'.encode())
            _feed(h, v)
    elif isinstance(value, (list, tuple)):
        h.update(f'{"L" if isinstance(value, list) else "U"}{len(value)}'.encode())
        for v in value:
            _feed(h, v)
    else:
        h.update(f'V{value!r}'.encode())


def save_checkpoint(path: Path, state: Dict[str, Any]):
    """
    ## Save

    `state` is a dictionary of tensors and plain Python values. The file holds
    `{'format': FORMAT, 'sha256': digest(state), 'state': state}`.
    """
    wrapped = {'format': FORMAT, 'sha256': digest(state), 'state': state}
    atomic_write(path, lambda f: torch.save(wrapped, f), binary=True)


def load_checkpoint(path: Path) -> Dict[str, Any]:
    """
    ## Load, or explain why not

    Returns the `state` that `save_checkpoint` saved. Every failure is an
    `ExperimentError` of one line, and the file is never changed.
    """
    path = Path(path)
    keep = "it was left untouched: delete it to start over, or pass another --out"
    if not path.is_file():
        raise ExperimentError(f"--resume was given but there is no checkpoint at {path}; run without --resume to "
                              f"start a new run, or point --out at the run to continue")
    try:
        # `weights_only` loads tensors and plain containers only, never arbitrary pickled objects
        wrapped = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        raise ExperimentError(f"checkpoint {path} is damaged or not a checkpoint (it can't be read: "
                              f"{type(e).__name__}); {keep}") from None
    if not isinstance(wrapped, dict) or not {'format', 'sha256', 'state'} <= wrapped.keys():
        raise ExperimentError(f"checkpoint {path} is not a checkpoint of this harness (no format, checksum or "
                              f"state); {keep}")
    if wrapped['format'] != FORMAT:
        raise ExperimentError(f"checkpoint {path} has format {wrapped['format']!r}, this code reads format "
                              f"{FORMAT}; {keep}")
    actual = digest(wrapped['state'])
    if actual != wrapped['sha256']:
        raise ExperimentError(f"checkpoint {path} is corrupt: the SHA-256 of its contents is {actual[:12]}..., "
                              f"not the {str(wrapped['sha256'])[:12]}... it was saved with; {keep}")
    return wrapped['state']
