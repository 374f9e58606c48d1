"""
---
title: Stopping on request
summary: >
  The first Ctrl-C (or SIGTERM) asks the run to stop after the current step; the
  harness then saves a checkpoint and exits cleanly, and --resume continues.
---

# Stopping on request

Pressing Ctrl-C sends the process `SIGINT`; by default Python raises
`KeyboardInterrupt` wherever the program happens to be, possibly halfway
through an optimizer step or while a checkpoint is being written. Instead, while
a run trains, the first `SIGINT` (or `SIGTERM`, what `kill` and most job
schedulers send) only sets a flag. The [training loop](trainer.html) looks at the
flag after each step, saves a checkpoint with everything needed to continue,
and leaves the loop; the program exits with status 130, the usual status after
Ctrl-C. A second Ctrl-C, for the impatient, raises `KeyboardInterrupt` at once.

Under `torchrun` each process gets its own signal (or only some of them do), so
the processes add up their flags after each step and all stop after the same
step: a checkpoint needs every process's state at the same point.
"""

import signal
import threading
from typing import Dict

import torch

from labml_nn.experiments.distributed import Dist, all_reduce_sum


class StopRequest:
    """
    ## The flag and the signal handlers
    """

    def __init__(self):
        self.requested = False
        self._previous: Dict[int, object] = {}

    def __enter__(self):
        # Signal handlers can only be installed from the main thread
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def should_stop(self, device: torch.device, info: Dist) -> bool:
        """Whether any process was asked to stop (all processes get the same answer)"""
        if info.world_size == 1:
            return self.requested
        return all_reduce_sum([float(self.requested)], device, info)[0] > 0
