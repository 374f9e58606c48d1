"""
---
title: Experiments
summary: >
  The machinery shared by the experiments: data, flags, checkpoints, metrics,
  progress and multi-process training.
---

# Experiments

* [Character-level language modelling](nlp_autoregression.html): the Tiny
  Shakespeare corpus, a character tokenizer, batches, command-line flags from a
  dataclass, checkpoints, metrics, progress on the terminal and `torchrun`
"""
