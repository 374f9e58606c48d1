"""
# Render math on the server with KaTeX

Formulas are typeset at build time, so a reader's browser needs only KaTeX's CSS and fonts,
no JavaScript. KaTeX is a JavaScript library; we run it in long-lived `node` processes
(`js/katex_server.js`) and feed each one a batch of formulas as a JSON line. A build renders
every distinct `(tex, display)` pair once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
    the work is split among the processes, which render in parallel.
    """

    def __init__(self, node_modules: Path, processes: int = 1):
        node = shutil.which('node')
        if node is None:
            raise MathSetupError('`node` is not on the PATH: install Node.js (Debian: `apt-get install nodejs`)')
        env = dict(os.environ, NODE_PATH=str(node_modules))
        self._procs = [subprocess.Popen([node, str(SERVER_JS)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, text=True,
                                        encoding='utf-8', bufsize=1 << 20)
                       for _ in range(max(1, processes))]

    def render(self, formulas: list[tuple[str, bool]]) -> list[Rendered]:
        if not formulas:
            return []
        n = min(len(self._procs), len(formulas))
        size = -(-len(formulas) // n)
        batches = [formulas[i * size:(i + 1) * size] for i in range(n)]
        # Send every batch first, so the processes work at the same time
        for proc, batch in zip(self._procs, batches):
            proc.stdin.write(json.dumps(batch) + '\n')
            proc.stdin.flush()
        results = []
        for proc, batch in zip(self._procs, batches):
            line = proc.stdout.readline()
            if not line:
                raise MathSetupError('the KaTeX process stopped unexpectedly; run `node pylit/js/katex_server.js` to see why')
            answer = json.loads(line)
            if isinstance(answer, dict):
                raise MathSetupError(f'KaTeX process: {answer.get("fatal")}')
            results.extend(Rendered(a.get('html'), a.get('error')) for a in answer)
        return results

    def close(self):
        for proc in self._procs:
            if proc.stdin:
                proc.stdin.close()
            proc.wait()
        self._procs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
