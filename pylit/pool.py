"""
# Render pages in bounded workers

A page that cannot be rendered within bounded time and memory must cost only that page. So
each page is rendered in a worker process that

* has a memory limit (`RLIMIT_AS`, the address space it may add to what it started with);
* is killed when one page takes longer than `timeout` seconds, and replaced;
* dies with the build: `kill -9` of the build takes its workers with it (Linux's
  `PR_SET_PDEATHSIG`, and on other systems a thread that watches the parent's process id).

A page whose worker fails, recurses too deeply, runs out of memory or time gives a `Failure`
with one line saying why; every other page is rendered as usual.

The workers are forked after the tasks exist, so a task travels as its index; only the
results (the HTML) go through a pipe.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Callable, Sequence


@dataclass(frozen=True)
class Failure:
    """Why a task gave no result."""
    reason: str


def _die_with_parent(parent: int):
    """Make this process end when `parent` does."""
    if sys.platform.startswith('linux'):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    # The parent may have died before prctl; and other systems have no prctl

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)
    threading.Thread(target=watch, daemon=True).start()


def _limit_memory(extra_bytes: int):
    try:
        import resource
        with open('/proc/self/statm') as f:
            used = int(f.read().split()[0]) * os.sysconf('SC_PAGE_SIZE')
        limit = used + extra_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError):
        pass


def _worker(conn, func, tasks, parent, memory):
    _die_with_parent(parent)
    if memory:
        _limit_memory(memory)
    while True:
        try:
            index = conn.recv()
        except EOFError:
            return
        if index is None:
            return
        try:
            result = (index, True, func(tasks[index]))
        except RecursionError:
            result = (index, False, 'it nests too deeply (RecursionError); flatten the nested lists or brackets')
        except MemoryError:
            result = (index, False, f'it needs more than {memory >> 20} MB of memory')
        except Exception as e:
            where = traceback.extract_tb(e.__traceback__)[-1]
            result = (index, False, f'{type(e).__name__}: {e} (at {os.path.basename(where.filename)}:{where.lineno})')
        try:
            conn.send(result)
        except (MemoryError, RecursionError):
            conn.send((index, False, 'its result is too large'))


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context('fork' if 'fork' in methods else 'spawn')


class _Slot:
    def __init__(self, ctx, func, tasks, memory):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, func, tasks, os.getpid(), memory), daemon=True)
        self.proc.start()
        child.close()
        self.index = None
        self.started = 0.0

    def give(self, index: int):
        self.index = index
        self.started = time.monotonic()
        self.conn.send(index)

    def kill(self):
        try:
            self.proc.kill()
        except (OSError, AttributeError):
            pass
        self.proc.join(5)
        self.conn.close()

    def stop(self):
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


def run_bounded(func: Callable, tasks: Sequence, jobs: int = 1, timeout: float = 60.0,
                memory: int = 2 << 30) -> list:
    """
    `[func(t) for t in tasks]`, in `jobs` worker processes; a task that raises, recurses too
    deeply, takes longer than `timeout` seconds or more than `memory` bytes gives a `Failure`.
    `func` must be a module-level function.
    """
    results: list = [None] * len(tasks)
    if not tasks:
        return results
    ctx = _context()
    pending = list(range(len(tasks)))
    pending.reverse()
    # The workers inherit the build's objects: keep the collector from walking them in every
    # worker (which would copy each page of memory it touches); the new objects are collected
    gc.freeze()
    try:
        slots = [_Slot(ctx, func, tasks, memory) for _ in range(max(1, min(jobs, len(tasks))))]
    finally:
        gc.unfreeze()
    try:
        for slot in slots:
            if pending:
                slot.give(pending.pop())
        while any(s.index is not None for s in slots):
            busy = [s for s in slots if s.index is not None]
            now = time.monotonic()
            left = min(s.started + timeout - now for s in busy)
            ready = wait([s.conn for s in busy], timeout=max(0.0, left))
            for i, slot in enumerate(slots):
                if slot.index is None:
                    continue
                replace = False
                if slot.conn in ready:
                    try:
                        index, ok, value = slot.conn.recv()
                        results[index] = value if ok else Failure(value)
                    except (EOFError, OSError):
                        code = slot.proc.exitcode
                        if code is None:
                            slot.proc.join(1)
                            code = slot.proc.exitcode
                        why = (f'its worker was killed by signal {-code}' if code and code < 0
                               else f'its worker stopped (exit status {code})')
                        results[slot.index] = Failure(why + ', perhaps out of memory')
                        replace = True
                elif time.monotonic() - slot.started >= timeout:
                    results[slot.index] = Failure(f'it took longer than {timeout:g} s to render')
                    replace = True
                else:
                    continue
                slot.index = None
                if replace:
                    slot.kill()
                    slot = slots[i] = _Slot(ctx, func, tasks, memory)
                if pending:
                    slot.give(pending.pop())
    finally:
        for slot in slots:
            if slot.index is None:
                slot.stop()
            else:
                slot.kill()
    return results
