r"""
---
title: Transformers
summary: >
  The transformer built up from its parts: multi-head attention, the feed-forward
  network, positional encodings and the encoder and decoder stacks, with a
  character-level language model you can train on a laptop.
---

# Transformers

The transformer of
[Attention Is All You Need](https://arxiv.org/abs/1706.03762) replaces recurrence
with attention: every position of a sequence reads every other position directly,
so a whole sequence is processed in parallel. This section builds it one page at a
time, in reading order:

* [Multi-head attention](mha.html): the attention formula, why it is scaled by
  $1 / \sqrt{d_k}$, why there are several heads, and the fused PyTorch kernel
  that computes it
* [Feed-forward network](feed_forward.html): the per-position two-layer network,
  and its gated variant
* [Positional encodings](positional_encoding.html): fixed sinusoids and learned
  vectors that tell attention where each token is
* [Causal mask](utils.html): how an autoregressive model is kept from looking ahead
* [Encoder and decoder models](models.html): embeddings, the pre-norm transformer
  layer, encoder and decoder stacks and the generator head

## Experiments

* [A character-level transformer trained with AdamW](basic/autoregressive_experiment.html)
  on Tiny Shakespeare: the model, every hyper-parameter and the training loop on
  one page
* [The same with Sophia-G](basic/with_sophia.html): the Gauss-Newton-Bartlett
  Hessian estimate step by step, and how Sophia-G compares with AdamW
* [Comparing the optimizers](basic/compare_optimizers.html): the script behind
  that comparison
* [The experiment harness](../experiments/index.html) they run on: run folders,
  checkpoints, metrics, progress and multi-process training; and the
  [character corpus](../experiments/data/char_corpus.html) they read
"""
