"""
# Render math on the server with KaTeX

Formulas are typeset at build time, so a reader's browser needs only KaTeX's CSS and fonts,
no JavaScript. KaTeX is a JavaScript library; we run it in long-lived `node` processes
(`js/katex_server.js`) and feed each one batches of formulas as JSON lines. A build renders
every distinct `(tex, display)` pair once. Most of KaTeX's time is its start and warm-up, so
the build uses one process and sends it each module's formulas as soon as it has parsed the
module: node typesets on one core while Python parses on the other.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

SERVER_JS = Path(__file__).parent / 'js' / 'katex_server.js'


class MathSetupError(Exception):
    """Node or the `katex` package is missing."""


@dataclass(frozen=True)
class Rendered:
    """The HTML of a formula, or KaTeX's error message."""
    html: str | None
    error: str | None = None


def find_node_modules(start: Path | None = None) -> Path:
    """
    Find the `node_modules` folder that holds `katex`: `$PYLIT_NODE_MODULES`, then the
    current folder and its parents, then the repository this package lives in.
    """
    env = os.environ.get('PYLIT_NODE_MODULES')
    candidates = [Path(env)] if env else []
    here = (start or Path.cwd()).resolve()
    candidates += [p / 'node_modules' for p in (here, *here.parents)]
    candidates.append(Path(__file__).resolve().parent.parent / 'node_modules')
    for c in candidates:
        if (c / 'katex' / 'package.json').is_file():
            return c
    raise MathSetupError('KaTeX is not installed: run `npm ci` in the repository root '
                         '(or `make setup`), or set PYLIT_NODE_MODULES')


def katex_version(node_modules: Path) -> str:
    return json.loads((node_modules / 'katex' / 'package.json').read_text())['version']


class KatexPool:
    """
    A few `node` processes running KaTeX, kept for a whole build.

    `render(formulas)` takes `(tex, display)` pairs and returns a `Rendered` for each;
    the work is split among the processes, which render in parallel. `prefetch(formulas)`
    sends formulas ahead without waiting (the build does it while it parses, so that node
    typesets while Python reads the next module); a formula is sent to KaTeX once however
    often it is asked for. A thread per process reads the answers, so that neither side
    ever waits on a full pipe.
    """

    # Formulas are sent in batches of about this many
    BATCH = 48

    def __init__(self, node_modules: Path, processes: int = 1):
        node = shutil.which('node')
        if node is None:
            raise MathSetupError('`node` is not on the PATH: install Node.js (Debian: `apt-get install nodejs`)')
        env = dict(os.environ, NODE_PATH=str(node_modules))
        # `--single-threaded`: no background compiler or collector threads, which only add CPU
        # time here (the build keeps the other cores busy)
        self._procs = [subprocess.Popen([node, '--single-threaded', str(SERVER_JS)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, text=True,
                                        encoding='utf-8', bufsize=1 << 20)
                       for _ in range(max(1, processes))]
        self._results: dict = {}          # (tex, display) -> Rendered
        self._sent: set = set()           # formulas sent or waiting to be
        self._queued: list = []           # formulas not sent yet
        self._batches = [queue.SimpleQueue() for _ in self._procs]   # per process: batches awaiting answers
        self._failure: str | None = None
        self._done = threading.Condition()
        self._next = 0
        self._readers = [threading.Thread(target=self._read, args=(i,), daemon=True) for i in range(len(self._procs))]
        for t in self._readers:
            t.start()

    def _read(self, i: int):
        proc, batches = self._procs[i], self._batches[i]
        while True:
            line = proc.stdout.readline()
            if not line:
                failure = 'the KaTeX process stopped unexpectedly; run `node pylit/js/katex_server.js` to see why'
                break
            answer = json.loads(line)
            if isinstance(answer, dict):
                failure = f'KaTeX process: {answer.get("fatal")}'
                break
            batch = batches.get()
            with self._done:
                for key, a in zip(batch, answer):
                    self._results[key] = Rendered(a.get('html'), a.get('error'))
                self._done.notify_all()
        with self._done:
            if self._failure is None and not self._closing:
                self._failure = failure
            self._done.notify_all()

    _closing = False

    def _send(self, batch: list):
        i = self._next % len(self._procs)
        self._next += 1
        self._batches[i].put(batch)
        try:
            self._procs[i].stdin.write(json.dumps(batch) + '\n')
            self._procs[i].stdin.flush()
        except (BrokenPipeError, OSError):
            with self._done:
                self._failure = self._failure or 'the KaTeX process stopped unexpectedly; run `node pylit/js/katex_server.js` to see why'

    def prefetch(self, formulas, flush: bool = False):
        """Send the formulas not sent yet, in batches, without waiting for their answers."""
        for key in formulas:
            if key not in self._sent:
                self._sent.add(key)
                self._queued.append(key)
        while len(self._queued) >= self.BATCH or (flush and self._queued):
            batch, self._queued = self._queued[:self.BATCH], self._queued[self.BATCH:]
            self._send(batch)

    def render(self, formulas: list[tuple[str, bool]]) -> list[Rendered]:
        if not formulas:
            return []
        new = [k for k in dict.fromkeys(formulas) if k not in self._sent]
        if new:
            # Split what is left evenly among the processes, so that they render at the same time
            for k in new:
                self._sent.add(k)
            self._queued.extend(new)
        if self._queued:
            size = max(1, -(-len(self._queued) // len(self._procs)))
            queued, self._queued = self._queued, []
            for i in range(0, len(queued), size):
                self._send(queued[i:i + size])
        with self._done:
            while self._failure is None and not all(k in self._results for k in formulas):
                self._done.wait()
            if self._failure is not None and not all(k in self._results for k in formulas):
                raise MathSetupError(self._failure)
            return [self._results[k] for k in formulas]

    def close(self):
        self._closing = True
        for proc in self._procs:
            if proc.stdin:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
        for proc, reader in zip(self._procs, self._readers):
            proc.wait()
            reader.join()
            proc.stdout.close()
        self._procs, self._readers = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
