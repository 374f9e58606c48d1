"""
---
title: The experiment harness
summary: >
  The machinery every experiment in this project runs on: flags from a
  dataclass, a locked run folder, checkpoints that resume exactly, metrics.csv,
  progress with an honest time left, Ctrl-C, several processes, and the data.
---

# The experiment harness

Each chapter's experiment is a page with its model, its hyper-parameters and
its training loop in plain PyTorch. Everything else a run needs is here, once,
so that every experiment behaves the same way:

* its flags come from a dataclass, are checked before anything runs, and a
  changed flag on `--resume` is either refused or recorded;
* it writes only into its run folder `--out`, and a second run into the same
  folder refuses to start;
* Ctrl-C saves a checkpoint and stops; `--resume` continues, and the resumed
  run's weights, optimizer state and `metrics.csv` equal those of a run that was
  never interrupted;
* a damaged checkpoint, a bad flag or a diverged run is one line that says what
  to do, never a traceback;
* it runs under `torchrun` on several CPU processes or GPUs without changes.

## The pages, in the order a run uses them

* [Errors a user can act on](errors.html): the one-line errors.
* [Flags from a dataclass](config.html): `RunConfig`, `flag()`, and the rule on
  `--resume` for each flag.
* [The run folder and its lock](run_folder.html): what a run writes, and why
  two runs can't share a folder.
* [Devices and several processes](distributed.html): the device, `torchrun`,
  DDP, and only rank 0 writing.
* [Checkpoints that are whole or refused](checkpoint.html): atomic saves, a
  format version and a SHA-256 of the contents.
* [`metrics.csv`, the same after an interruption](metrics.html): rows, averages,
  and why the half-made row lives in the checkpoint.
* [Progress, and an honest time left](progress.html): the progress line on a
  terminal, plain lines elsewhere, and the time left from recent steps.
* [Stopping on request](stop.html): Ctrl-C and `SIGTERM`.
* [A run, from flags to the last checkpoint](trainer.html): `Run` and
  `run_main`, which tie the pages above together, and the divergence guard.
* [Data for the experiments](data/index.html): a character corpus, the bundled
  digits, MNIST and CIFAR-10, 2-D toy distributions and resumable batches.

## How an experiment uses it

An experiment derives its configuration from `RunConfig`, opens a `Run`, tells
it which objects to checkpoint, and loops over `run.steps()`, logging as it
goes; its `main` is one call to `run_main`. The
[character-level transformer](../transformers/basic/autoregressive_experiment.html)
is a complete example. Its command line shows what every experiment offers:

```bash
python -m labml_nn.transformers.basic.autoregressive_experiment --steps 600 --out runs/tiny
# Ctrl-C, then continue, with a lower learning rate from here on (recorded in config.json):
python -m labml_nn.transformers.basic.autoregressive_experiment --steps 600 --out runs/tiny --resume --lr 2e-3
# two processes on the CPU
torchrun --nproc_per_node=2 -m labml_nn.transformers.basic.autoregressive_experiment --device cpu
```

We use [labml](https://github.com/labmlai/labml) only to draw the progress line
on a terminal. Its experiment tracking would write outside the run folder (into
`~/.labml` and a folder of its own choosing), so the configuration, metrics and
checkpoints are written by the pages above, all inside `--out`.
"""
