r"""
---
title: Transformers
summary: >
  The transformer built up from its parts: multi-head attention, the feed-forward
  network, positional encodings and the encoder and decoder stacks, with a
  character-level language model you can train on a laptop; then the parts of a
  modern decoder-only language model, assembled into GPT and LLaMA-style models.
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

## A modern decoder-only language model

The 2017 transformer is still the skeleton of today's language models, but almost
every part of it has been replaced by something that trains better or decodes
faster. Each replacement has its own page, checked against a reference, and the
last two pages assemble them into models you can train and sample on a laptop.
Read them in this order:

* [GPT](gpt/index.html): the decoder-only model with tied embeddings and GPT-2's
  initialisation, and its [experiment](gpt/experiment.html)
* [RMSNorm](../normalization/rms_norm.html): normalisation without the mean
* [GLU variants](glu_variants.html): GLU, ReGLU, GEGLU and SwiGLU feed-forward networks
* [Rotary embeddings](rope.html) and [ALiBi](alibi.html): two ways to give
  attention relative positions instead of adding position vectors to the input
* [KV cache](kv_cache.html): decoding one token at a time without recomputing
  the prefix, which needs the bottom-right causal mask of the
  [attention page](mha.html)
* [Grouped-query attention](gqa.html): fewer key/value heads, a smaller cache
* [The LLaMA-style model](llama/index.html): RMSNorm, SwiGLU, rotary embeddings and
  grouped-query attention put together, and its [experiment](llama/experiment.html)
* [FlashAttention's algorithm](flash/index.html): exact attention in tiles with an
  online softmax, forward and backward, in memory linear in the length
* [Mixture of experts](moe.html): Switch and top-k routing with capacity and the
  load-balancing loss

Generating text from these models (sampling rules, the generation loop and
speculative decoding) is the [sampling chapter](../sampling/index.html);
adapting a trained model cheaply is [LoRA](../lora/index.html).

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
