"""
---
title: Errors a user can act on
summary: >
  The two exceptions of the experiment harness: a one-line problem with the
  user's input, and a run whose loss stopped being a number.
---

# Errors a user can act on

A traceback is the right answer to a bug in our code and the wrong answer to a
typo in a flag. Whenever the harness, or an experiment built on it, finds a
problem the *user* can fix (a bad flag, a missing file, a busy run folder, a
damaged checkpoint, a diverged run) it raises one of the two exceptions below
with a message of one line: what is wrong, where, and what to do about it.
[`run_main`](trainer.html) prints that line on standard error and exits with
status 2; nothing else is printed.
"""


class ExperimentError(ValueError):
    """
    ## A problem with the user's input

    It derives from `ValueError`, so code that checks hyper-parameters the
    usual way (`pytest.raises(ValueError)`) catches it too. The message names the
    flag or the file.
    """


class RunDiverged(ExperimentError):
    """
    ## The loss is no longer a finite number

    Raised by [`Run.log`](trainer.html) when a logged value is `nan` or infinite,
    *before* that value reaches `metrics.csv`, the progress line or a checkpoint.
    The message says at which step, which checkpoint is the last good one, and
    suggests a smaller learning rate.
    """
