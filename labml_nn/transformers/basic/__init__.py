"""
---
title: Transformer Experiments
summary: >
  A small character-level transformer trained on Tiny Shakespeare with AdamW and
  with Sophia-G, and a script that compares the two.
---

# Transformer Experiments

* [A character-level transformer trained with AdamW](autoregressive_experiment.html)
* [The same with Sophia-G](with_sophia.html), with the comparison's results
* [Comparing Sophia-G with AdamW](compare_optimizers.html)
"""
