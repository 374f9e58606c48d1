r"""
---
title: Progress, and an honest time left
summary: >
  One line on the terminal with the step, the latest values, the throughput,
  the time elapsed and the time left, estimated from the recent steps; plain
  lines without escape codes when the output is a file or a pipe.
---

# Progress, and an honest time left

While a run trains, its main process shows

```text
step 440/1,200  tokens 1,802,240  lr 0.0038  train_loss 1.912  tokens/s 5,310  elapsed 2:01  left 3:28
```

On a terminal this is one line, redrawn in place (through
[labml](https://github.com/labmlai/labml)'s logger, which colours its parts);
the lines of validation steps stay on the screen. When standard output is not a
terminal (a CI log, `nohup`, `| tee`), redrawing makes no sense: the escape codes
would land in the file as garbage. Then we print the same information as a plain
line at every row of `metrics.csv`, and nothing else.

## The time left

The time left is the average duration of the *recent* steps times the number of
steps still to go:

\begin{align}
t_{\text{left}} &= (T - n) \cdot \frac{1}{W} \sum_{i = n - W + 1}^{n} \Delta_i
\end{align}

where $T$ is `steps`, $n$ the steps done, $\Delta_i$ the wall-clock duration of
step $i$ (validation and checkpoints included, since they take time too) and $W$
the window (50 steps, or all steps so far when fewer). A window, rather than the
average since the start, follows a run whose speed changes (a machine that gets
busy, a GPU warming up), and 50 steps are enough that one slow validation step
moves the estimate only a little. Both times are labelled, `elapsed` and `left`,
as minutes and seconds (`h:mm:ss` beyond an hour).
"""

import collections
import sys
import time
from typing import Any, Callable, Deque, Dict, IO, Optional


def format_duration(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from one hour on"""
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TimeLeft:
    """
    ## The moving average of step durations
    """

    def __init__(self, window: int = 50):
        self.durations: Deque[float] = collections.deque(maxlen=window)
        self.last: Optional[float] = None

    def tick(self, now: float):
        """A step ended at time `now`"""
        if self.last is not None:
            self.durations.append(now - self.last)
        self.last = now

    def seconds_per_step(self) -> Optional[float]:
        if not self.durations:
            return None
        return sum(self.durations) / len(self.durations)

    def left(self, remaining_steps: int) -> Optional[float]:
        """Seconds for `remaining_steps` more steps, `None` before two steps ended"""
        per_step = self.seconds_per_step()
        return None if per_step is None else per_step * remaining_steps


def format_value(value: Any) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e5):
            return f"{value:.3g}"
        return f"{value:.4g}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class Progress:
    """
    ## The progress display
    """

    def __init__(self, total: int, start: int = 0, *, enabled: bool = True, stream: Optional[IO] = None,
                 tty: Optional[bool] = None, clock: Callable[[], float] = time.monotonic, window: int = 50,
                 redraw_s: float = 0.25):
        """
        * `total` is the number of steps of the run, `start` the first one (after a resume)
        * `enabled` is false in processes other than the main one
        * `stream` is where to write (standard output); `tty` overrides whether it is a terminal
        * `clock` gives the time in seconds (a fake one in tests)
        * `window` is $W$, `redraw_s` the least time between two redraws on a terminal
        """
        self.total, self.done = total, start
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.time_left = TimeLeft(window)
        self.time_left.tick(self.started)
        self.values: Dict[str, Any] = {}
        self.redraw_s = redraw_s
        self._drawn_at = -float('inf')
        self._line_open = False

    def begin(self):
        """The loop starts: the time before it (loading data, building the model) is no step's"""
        self.time_left.last = self.clock()

    def step(self, done: int):
        """A step ended; `done` steps are done"""
        now = self.clock()
        self.done = done
        self.time_left.tick(now)
        if self.enabled and self.tty and now - self._drawn_at >= self.redraw_s:
            self._draw(now)

    def row(self, values: Dict[str, Any], keep: bool = False):
        """
        A row of `metrics.csv` was made. On a terminal the line is redrawn (and kept
        on the screen when `keep`, at validations); otherwise a plain line is printed.
        """
        self.values = {k: v for k, v in values.items() if k not in ('step', 'train_time_s')}
        if not self.enabled:
            return
        now = self.clock()
        if self.tty:
            self._draw(now)
            if keep:
                self._end_line()
        else:
            self.stream.write(self.text(now) + '\n')
            self.stream.flush()

    def text(self, now: Optional[float] = None) -> str:
        """The progress line as plain text"""
        now = self.clock() if now is None else now
        parts = [f"step {self.done:,}/{self.total:,}"]
        for name, value in self.values.items():
            if value == '':
                continue
            if name.endswith('_per_s'):
                name = name[:-len('_per_s')] + '/s'
            parts.append(f"{name} {format_value(value)}")
        left = self.time_left.left(self.total - self.done)
        parts.append(f"elapsed {format_duration(now - self.started)}")
        parts.append(f"left {format_duration(left) if left is not None else '?'}")
        return '  '.join(parts)

    def _draw(self, now: float):
        # labml's logger writes `\r`, the parts in colour, and leaves the line open
        from labml import logger
        from labml.logger import Text
        self._drawn_at = now
        text = self.text(now)
        parts = []
        for i, part in enumerate(text.split('  ')):
            style = Text.key if i == 0 else Text.meta if part.startswith(('elapsed', 'left')) else Text.value
            parts += [('  ' if i else '', None), (part, style)]
        logger.log(parts, is_new_line=False)
        self._line_open = True

    def _end_line(self):
        if self._line_open:
            self.stream.write('\n')
            self.stream.flush()
            self._line_open = False

    def print(self, text: str):
        """A line of text under the progress line"""
        if not self.enabled:
            return
        self._end_line()
        self.stream.write(text + '\n')
        self.stream.flush()

    def close(self):
        if self.enabled:
            self._end_line()
